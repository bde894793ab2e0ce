//! The rest of sprig's `TxtFuncMap()` beyond the hermetic functions:
//! dates (through the caller's clock), random strings and numbers (through
//! the caller's random source), xstrings' case conversions, URLs, base32
//! decoding and `mustFromJson`.

use std::rc::Rc;

use crate::funcs::{DICT, Env, EnvFunc, FResult, Func, FuncError, P, ferr};
use crate::gotime::{self, GoTime};
use crate::set::Timestamp;
use crate::sprig::{MAX_STRING_BYTES, from_json_value};

use crate::value::Value;

const fn f(params: &'static [P], call: fn(&[Value]) -> FResult) -> Func {
    Func {
        params,
        variadic: None,
        call,
    }
}

const fn e(params: &'static [P], call: fn(&Env, &[Value]) -> FResult) -> EnvFunc {
    EnvFunc {
        params,
        variadic: None,
        call,
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

fn time_of(v: &Value) -> Option<GoTime> {
    match v {
        Value::Object(o) => o.as_any().and_then(|a| a.downcast_ref::<GoTime>()).cloned(),
        _ => None,
    }
}

fn now(env: &Env) -> Result<GoTime, FuncError> {
    let Timestamp {
        unix_secs,
        nanos,
        offset_secs,
        zone,
    } = env.now()?;
    Ok(GoTime {
        secs: unix_secs,
        nanos,
        offset: offset_secs,
        zone: zone.into(),
    })
}

/// The local zone: the clock's, UTC without one.
fn local_zone(env: &Env) -> (i32, Rc<str>) {
    match env.now() {
        Ok(t) => (t.offset_secs, t.zone.into()),
        Err(_) => (0, "UTC".into()),
    }
}

/// sprig's `dateInZone` argument: a `time.Time`, or seconds since the
/// epoch as `int`/`int64`; anything else is now.
fn date_arg(env: &Env, v: &Value) -> Result<GoTime, FuncError> {
    if let Some(t) = time_of(v) {
        return Ok(t);
    }
    match v {
        Value::Int(n) | Value::Int64(n) => Ok(GoTime::utc(*n, 0)),
        _ => now(env),
    }
}

/// `time.LoadLocation(zone)` without a zone database: `UTC`, `""` and
/// `Local` are known; any other name falls back to UTC, as Go does when
/// the name does not load.
fn in_zone(env: &Env, t: &GoTime, zone: &str) -> GoTime {
    if zone == "Local" {
        let (off, name) = local_zone(env);
        return t.in_zone(off, &name);
    }
    t.in_zone(0, "UTC")
}

fn date_in_zone(env: &Env, layout: &str, date: &Value, zone: &str) -> FResult {
    let t = date_arg(env, date)?;
    Ok(Value::str(in_zone(env, &t, zone).format(layout)))
}

/// The functions that read the clock or the random source.
pub fn env_lookup(name: &str) -> Option<EnvFunc> {
    use P::*;
    Some(match name {
        "now" => e(&[], |env, _| Ok(now(env)?.value())),
        "date" => e(&[Str, Any], |env, a| {
            date_in_zone(env, s(&a[0]), &a[1], "Local")
        }),
        "dateInZone" | "date_in_zone" => e(&[Str, Any, Str], |env, a| {
            date_in_zone(env, s(&a[0]), &a[1], s(&a[2]))
        }),
        "htmlDate" => e(&[Any], |env, a| {
            date_in_zone(env, "2006-01-02", &a[0], "Local")
        }),
        "htmlDateInZone" => e(&[Any, Str], |env, a| {
            date_in_zone(env, "2006-01-02", &a[0], s(&a[1]))
        }),
        "ago" => e(&[Any], |env, a| {
            let n = now(env)?;
            let t = match (&a[0], time_of(&a[0])) {
                (_, Some(t)) => t,
                (Value::Int(x) | Value::Int64(x), _) => GoTime::utc(*x, 0),
                _ => n.clone(),
            };
            let d = clamp_i64(n.unix_nanos() - t.unix_nanos());
            Ok(Value::str(gotime::duration_string(gotime::round_second(d))))
        }),
        "durationRound" => e(&[Any], |env, a| {
            let d: i64 = match &a[0] {
                Value::String(x) => gotime::parse_duration(x).unwrap_or(0),
                Value::Int64(n) => *n,
                other => match time_of(other) {
                    Some(t) => clamp_i64(now(env)?.unix_nanos() - t.unix_nanos()),
                    None => 0,
                },
            };
            Ok(Value::str(duration_round(d)))
        }),
        "toDate" => e(&[Str, Str], |env, a| {
            let (off, zone) = local_zone(env);
            Ok(match gotime::parse(s(&a[0]), s(&a[1]), off, &zone) {
                Ok(t) => t.value(),
                Err(_) => GoTime::utc(gotime::ZERO_UNIX, 0).value(),
            })
        }),
        "mustToDate" => e(&[Str, Str], |env, a| {
            let (off, zone) = local_zone(env);
            match gotime::parse(s(&a[0]), s(&a[1]), off, &zone) {
                Ok(t) => Ok(t.value()),
                Err(x) => ferr(x),
            }
        }),
        "randAlphaNum" => e(&[Int], |env, a| random_string(env, &a[0], Class::AlphaNum)),
        "randAlpha" => e(&[Int], |env, a| random_string(env, &a[0], Class::Alpha)),
        "randAscii" => e(&[Int], |env, a| random_string(env, &a[0], Class::Ascii)),
        "randNumeric" => e(&[Int], |env, a| random_string(env, &a[0], Class::Numeric)),
        "randBytes" => e(&[Int], |env, a| {
            let n = a[0].as_int().unwrap_or(0);
            if n < 0 {
                return ferr("runtime error: makeslice: len out of range");
            }
            check_len("randBytes", n as u128 * 4 / 3)?;
            let mut buf = Vec::with_capacity(n as usize);
            while buf.len() < n as usize {
                let r = env.random()?;
                for b in r.to_le_bytes() {
                    if buf.len() < n as usize {
                        buf.push(b);
                    }
                }
            }
            use base64::Engine as _;
            Ok(Value::str(
                base64::engine::general_purpose::STANDARD.encode(buf),
            ))
        }),
        "randInt" => e(&[Int, Int], |env, a| {
            let (min, max) = (a[0].as_int().unwrap_or(0), a[1].as_int().unwrap_or(0));
            let n = max.wrapping_sub(min);
            if n <= 0 {
                return ferr("invalid argument to Intn");
            }
            let r = (env.random()? % n as u64) as i64;
            Ok(Value::Int(r + min))
        }),
        "uuidv4" => e(&[], |env, _| {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&env.random()?.to_le_bytes());
            b[8..].copy_from_slice(&env.random()?.to_le_bytes());
            b[6] = (b[6] & 0x0f) | 0x40;
            b[8] = (b[8] & 0x3f) | 0x80;
            let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
            Ok(Value::str(format!(
                "{}-{}-{}-{}-{}",
                &h[..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            )))
        }),
        "encryptAES" => e(&[Str, Str], |env, a| encrypt_aes(env, s(&a[0]), s(&a[1]))),
        "bcrypt" => e(&[Str], |env, a| Ok(Value::str(bcrypt_hash(env, s(&a[0]))?))),
        "htpasswd" => e(&[Str, Str], |env, a| {
            let user = s(&a[0]);
            if user.contains(':') {
                return Ok(Value::str(format!("invalid username: {user}")));
            }
            Ok(Value::str(format!(
                "{user}:{}",
                bcrypt_hash(env, s(&a[1]))?
            )))
        }),
        "shuffle" => e(&[Str], |env, a| {
            let mut runes: Vec<char> = s(&a[0]).chars().collect();
            for i in (1..runes.len()).rev() {
                let j = (env.random()? % (i as u64 + 1)) as usize;
                runes.swap(i, j);
            }
            Ok(Value::str(runes.into_iter().collect::<String>()))
        }),
        _ => return crate::certs::env_lookup(name),
    })
}

fn clamp_i64(x: i128) -> i64 {
    x.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

fn check_len(func: &str, bytes: u128) -> Result<(), FuncError> {
    if bytes > MAX_STRING_BYTES {
        return ferr(format!(
            "{func}: the result would be {bytes} bytes, over ferroflux's limit of {MAX_STRING_BYTES}"
        ));
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    AlphaNum,
    Alpha,
    Ascii,
    Numeric,
}

/// goutils' `CryptoRandom` over the caller's random source: characters
/// drawn from `' '..='z'` (ASCII: 32..=126) until they are of the class.
fn random_string(env: &Env, count: &Value, class: Class) -> FResult {
    let n = count.as_int().unwrap_or(0);
    if n <= 0 {
        // goutils' error for a negative count is dropped by sprig
        return Ok(Value::str(""));
    }
    check_len("random string", n as u128)?;
    let (start, end) = if class == Class::Ascii {
        (32u64, 127u64)
    } else {
        (u64::from(b' '), u64::from(b'z') + 1)
    };
    let mut out = String::with_capacity(n as usize);
    while out.len() < n as usize {
        let c = (start + env.random()? % (end - start)) as u8 as char;
        let ok = match class {
            Class::AlphaNum => c.is_ascii_alphanumeric(),
            Class::Alpha => c.is_ascii_alphabetic(),
            Class::Numeric => c.is_ascii_digit(),
            Class::Ascii => true,
        };
        if ok {
            out.push(c);
        }
    }
    Ok(Value::str(out))
}

/// sprig's `durationRound`.
fn duration_round(d: i64) -> String {
    let u = d.unsigned_abs();
    const SECOND: u64 = 1_000_000_000;
    const MINUTE: u64 = 60 * SECOND;
    const HOUR: u64 = 60 * MINUTE;
    const DAY: u64 = 24 * HOUR;
    const MONTH: u64 = 30 * DAY;
    const YEAR: u64 = 365 * DAY;
    for (unit, suffix) in [
        (YEAR, "y"),
        (MONTH, "mo"),
        (DAY, "d"),
        (HOUR, "h"),
        (MINUTE, "m"),
        (SECOND, "s"),
    ] {
        if u > unit {
            return format!("{}{suffix}", u / unit);
        }
    }
    "0s".into()
}

/// sprig's `bcrypt` (Go's `bcrypt.GenerateFromPassword` at the default
/// cost 10, `$2a$`), the salt from the caller's random source.
fn bcrypt_hash(env: &Env, password: &str) -> Result<String, FuncError> {
    if password.len() > 72 {
        return Ok(
            "failed to encrypt string with bcrypt: bcrypt: password length exceeds 72 bytes".into(),
        );
    }
    let mut salt = [0u8; 16];
    salt[..8].copy_from_slice(&env.random()?.to_le_bytes());
    salt[8..].copy_from_slice(&env.random()?.to_le_bytes());
    match bcrypt::hash_with_salt(password, 10, salt) {
        Ok(h) => Ok(h.format_for_version(bcrypt::Version::TwoA)),
        Err(e) => Ok(format!("failed to encrypt string with bcrypt: {e}")),
    }
}

/// sprig's `derivePassword` (the Master Password algorithm): scrypt of
/// the password salted with the user, HMAC-SHA256 of the site and
/// counter, the seed's bytes picking a template and its characters.
fn derive_password(counter: u32, kind: &str, password: &str, user: &str, site: &str) -> FResult {
    use hmac::Mac as _;
    const SEED: &str = "com.lyndir.masterpassword";
    let templates: &[&str] = match kind {
        "maximum" => &["anoxxxxxxxxxxxxxxxxx", "axxxxxxxxxxxxxxxxxno"],
        "long" => &[
            "CvcvnoCvcvCvcv",
            "CvcvCvcvnoCvcv",
            "CvcvCvcvCvcvno",
            "CvccnoCvcvCvcv",
            "CvccCvcvnoCvcv",
            "CvccCvcvCvcvno",
            "CvcvnoCvccCvcv",
            "CvcvCvccnoCvcv",
            "CvcvCvccCvcvno",
            "CvcvnoCvcvCvcc",
            "CvcvCvcvnoCvcc",
            "CvcvCvcvCvccno",
            "CvccnoCvccCvcv",
            "CvccCvccnoCvcv",
            "CvccCvccCvcvno",
            "CvcvnoCvccCvcc",
            "CvcvCvccnoCvcc",
            "CvcvCvccCvccno",
            "CvccnoCvcvCvcc",
            "CvccCvcvnoCvcc",
            "CvccCvcvCvccno",
        ],
        "medium" => &["CvcnoCvc", "CvcCvcno"],
        "short" => &["Cvcn"],
        "basic" => &["aaanaaan", "aannaaan", "aaannaaa"],
        "pin" => &["nnnn"],
        _ => return Ok(Value::str(format!("cannot find password template {kind}"))),
    };
    let mut salt = SEED.as_bytes().to_vec();
    salt.extend_from_slice(&(user.len() as u32).to_be_bytes());
    salt.extend_from_slice(user.as_bytes());
    let mut key = [0u8; 64];
    let params = scrypt::Params::new(15, 8, 2, 64).map_err(|e| FuncError::new(e.to_string()))?;
    if let Err(e) = scrypt::scrypt(password.as_bytes(), &salt, &params, &mut key) {
        return Ok(Value::str(format!("failed to derive password: {e}")));
    }
    let mut msg = SEED.as_bytes().to_vec();
    msg.extend_from_slice(&(site.len() as u32).to_be_bytes());
    msg.extend_from_slice(site.as_bytes());
    msg.extend_from_slice(&counter.to_be_bytes());
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key)
        .map_err(|e| FuncError::new(e.to_string()))?;
    mac.update(&msg);
    let seed = mac.finalize().into_bytes();
    let template = templates[usize::from(seed[0]) % templates.len()];
    let mut out = String::new();
    for (i, class) in template.bytes().enumerate() {
        let chars: &[u8] = match class {
            b'V' => b"AEIOU",
            b'C' => b"BCDFGHJKLMNPQRSTVWXYZ",
            b'v' => b"aeiou",
            b'c' => b"bcdfghjklmnpqrstvwxyz",
            b'A' => b"AEIOUBCDFGHJKLMNPQRSTVWXYZ",
            b'a' => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz",
            b'n' => b"0123456789",
            b'o' => b"@&%?,=[]_:-+*$#!'^~;()/.",
            _ => b"AEIOUaeiouBCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz0123456789!@#$%^&*()",
        };
        out.push(chars[usize::from(seed[i + 1]) % chars.len()] as char);
    }
    Ok(Value::str(out))
}

/// sprig's AES key: the password's bytes, cut or zero-padded to 32.
fn aes_key(password: &str) -> aes::Aes256 {
    use aes::cipher::KeyInit as _;
    let mut key = [0u8; 32];
    let n = password.len().min(32);
    key[..n].copy_from_slice(&password.as_bytes()[..n]);
    aes::Aes256::new(&key.into())
}

/// sprig's `encryptAES`: AES-256-CBC, PKCS#7 padding, a random IV in front,
/// base64.
fn encrypt_aes(env: &Env, password: &str, plaintext: &str) -> FResult {
    use aes::cipher::BlockEncrypt as _;
    if plaintext.is_empty() {
        return Ok(Value::str(""));
    }
    check_len("encryptAES", plaintext.len() as u128 * 4 / 3 + 64)?;
    let cipher = aes_key(password);
    let mut content = plaintext.as_bytes().to_vec();
    let pad = 16 - content.len() % 16;
    content.extend(std::iter::repeat_n(pad as u8, pad));
    let mut out = Vec::with_capacity(16 + content.len());
    out.extend_from_slice(&env.random()?.to_le_bytes());
    out.extend_from_slice(&env.random()?.to_le_bytes());
    let mut prev = [0u8; 16];
    prev.copy_from_slice(&out[..16]);
    for chunk in content.chunks(16) {
        let mut block = [0u8; 16];
        for (k, b) in block.iter_mut().enumerate() {
            *b = chunk[k] ^ prev[k];
        }
        let mut ga = block.into();
        cipher.encrypt_block(&mut ga);
        prev.copy_from_slice(&ga);
        out.extend_from_slice(&ga);
    }
    use base64::Engine as _;
    Ok(Value::str(
        base64::engine::general_purpose::STANDARD.encode(out),
    ))
}

/// sprig's `decryptAES`, with Go's errors and panics.
fn decrypt_aes(password: &str, crypt64: &str) -> FResult {
    use aes::cipher::BlockDecrypt as _;
    if crypt64.is_empty() {
        return Ok(Value::str(""));
    }
    let crypt = match crate::sprig::go_b64_decode(crypt64.as_bytes()) {
        Ok(c) => c,
        Err(at) => return ferr(format!("illegal base64 data at input byte {at}")),
    };
    if crypt.len() < 16 {
        return ferr(format!(
            "runtime error: slice bounds out of range [:16] with capacity {}",
            crypt.len()
        ));
    }
    let (iv, body) = crypt.split_at(16);
    if body.len() % 16 != 0 {
        return ferr("crypto/cipher: input not full blocks");
    }
    if body.is_empty() {
        return ferr("runtime error: index out of range [-1]");
    }
    let cipher = aes_key(password);
    let mut prev: [u8; 16] = iv.try_into().unwrap_or([0; 16]);
    let mut out = Vec::with_capacity(body.len());
    for chunk in body.chunks(16) {
        let mut ga = aes::cipher::generic_array::GenericArray::clone_from_slice(chunk);
        cipher.decrypt_block(&mut ga);
        for k in 0..16 {
            out.push(ga[k] ^ prev[k]);
        }
        prev.copy_from_slice(chunk);
    }
    let pad = usize::from(out[out.len() - 1]);
    if pad > out.len() {
        return ferr(format!(
            "runtime error: slice bounds out of range [:{}]",
            out.len() as i64 - pad as i64
        ));
    }
    out.truncate(out.len() - pad);
    Ok(Value::str(String::from_utf8_lossy(&out)))
}

/// Functions with no clock or randomness.
pub fn lookup(name: &str) -> Option<Func> {
    use P::*;
    Some(match name {
        "camelcase" => f(&[Str], |a| Ok(Value::str(to_camel_case(s(&a[0]), true)))),
        "snakecase" => f(&[Str], |a| Ok(Value::str(camel_to_lower(s(&a[0]), '_')))),
        "kebabcase" => f(&[Str], |a| Ok(Value::str(camel_to_lower(s(&a[0]), '-')))),
        "b32dec" => f(&[Str], |a| {
            Ok(Value::str(match base32_decode(s(&a[0])) {
                Ok(d) => String::from_utf8_lossy(&d).into_owned(),
                Err(at) => format!("illegal base32 data at input byte {at}"),
            }))
        }),
        "mustFromJson" => f(&[Str], |a| {
            match serde_json::from_str::<serde_json::Value>(s(&a[0])) {
                Ok(j) => Ok(from_json_value(&j)),
                Err(e) => ferr(go_json_error(s(&a[0]), &e)),
            }
        }),
        "unixEpoch" => f(&[Time], |a| {
            Ok(Value::str(
                time_of(&a[0]).map(|t| t.secs).unwrap_or(0).to_string(),
            ))
        }),
        "dateModify" | "date_modify" => f(&[Str, Time], |a| {
            let t = time_of(&a[1]).unwrap_or_else(|| GoTime::utc(gotime::ZERO_UNIX, 0));
            Ok(match gotime::parse_duration(s(&a[0])) {
                Ok(d) => t.add_nanos(d).value(),
                Err(_) => t.value(),
            })
        }),
        "mustDateModify" | "must_date_modify" => f(&[Str, Time], |a| {
            let t = time_of(&a[1]).unwrap_or_else(|| GoTime::utc(gotime::ZERO_UNIX, 0));
            match gotime::parse_duration(s(&a[0])) {
                Ok(d) => Ok(t.add_nanos(d).value()),
                Err(x) => ferr(x),
            }
        }),
        "decryptAES" => f(&[Str, Str], |a| decrypt_aes(s(&a[0]), s(&a[1]))),
        "derivePassword" => f(&[Int, Str, Str, Str, Str], |a| {
            derive_password(
                a[0].as_int().unwrap_or(0) as u32,
                s(&a[1]),
                s(&a[2]),
                s(&a[3]),
                s(&a[4]),
            )
        }),
        "urlParse" => f(&[Str], |a| url_parse(s(&a[0]))),
        "urlJoin" => f(&[Dict], |a| url_join(&a[0])),
        _ => return crate::certs::lookup(name),
    })
}

/// Go's `encoding/json` error texts for the common syntax errors.
fn go_json_error(text: &str, e: &serde_json::Error) -> String {
    if e.is_eof() {
        return "unexpected end of JSON input".into();
    }
    // the byte serde_json stopped at
    let line = e.line();
    let col = e.column();
    let offset: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum::<usize>()
        + col.saturating_sub(1);
    let c = text[offset.min(text.len())..].chars().next().unwrap_or(' ');
    let quoted = match c {
        '\'' => "'\\''".to_string(),
        '"' => "'\"'".to_string(),
        c if c.is_control() => format!("'\\x{:02x}'", c as u32),
        c => format!("'{c}'"),
    };
    format!("invalid character {quoted} looking for beginning of value")
}

fn is_connector(r: char) -> bool {
    r == '-' || r == '_' || r.is_whitespace()
}

/// Go's `unicode.IsPunct` (category P) for ASCII; for the rest, the
/// General Punctuation block and CJK punctuation.
fn is_punct(r: char) -> bool {
    if r.is_ascii() {
        return matches!(
            r,
            '!' | '"'
                | '#'
                | '%'
                | '&'
                | '\''
                | '('
                | ')'
                | '*'
                | ','
                | '-'
                | '.'
                | '/'
                | ':'
                | ';'
                | '?'
                | '@'
                | '['
                | '\\'
                | ']'
                | '_'
                | '{'
                | '}'
        );
    }
    matches!(r as u32, 0x2010..=0x2027 | 0x2030..=0x205E | 0x3001..=0x3003 | 0x3008..=0x3011)
}

/// xstrings' `isAlphabet`: a letter outside CJK.
fn is_alphabet(r: char) -> bool {
    r.is_alphabetic() && !matches!(r as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF)
}

/// xstrings' `toCamelCase(str, isBig)` (sprig's `camelcase` is PascalCase).
fn to_camel_case(input: &str, big: bool) -> String {
    let mut out = String::new();
    let mut chars = input.chars().peekable();
    let mut first_upper = false;
    let mut r0 = '\0';
    let mut got = false;
    for c in chars.by_ref() {
        if !is_connector(c) {
            first_upper = c.is_uppercase();
            r0 = if big {
                c.to_uppercase().next().unwrap_or(c)
            } else {
                c.to_lowercase().next().unwrap_or(c)
            };
            got = true;
            break;
        }
        out.push(c);
    }
    if chars.peek().is_none() {
        if got {
            out.push(r0);
        }
        return out;
    }
    for c in chars {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            first_upper = r0.is_uppercase();
            r0 = r0.to_uppercase().next().unwrap_or(r0);
        } else {
            if first_upper {
                if r0.is_uppercase() {
                    r0 = r0.to_lowercase().next().unwrap_or(r0);
                } else {
                    first_upper = false;
                }
            }
            out.push(r1);
        }
    }
    if first_upper && !big {
        r0 = r0.to_lowercase().next().unwrap_or(r0);
    }
    out.push(r0);
    out
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alphabet,
    Connector,
    Punct,
    Other,
}

/// xstrings' `nextWord`.
fn next_word(s: &str) -> (Word, &str, &str) {
    let Some(r) = s.chars().next() else {
        return (Word::Invalid, "", "");
    };
    let take_while = |start: usize, pred: &dyn Fn(char) -> bool| -> usize {
        let mut off = start;
        for c in s[start..].chars() {
            if !pred(c) {
                break;
            }
            off += c.len_utf8();
        }
        off
    };
    let n = r.len_utf8();
    let (wt, off) = if is_connector(r) {
        (Word::Connector, take_while(n, &is_connector))
    } else if is_punct(r) {
        (Word::Punct, take_while(n, &is_punct))
    } else if r.is_uppercase() {
        match s[n..].chars().next() {
            None => (Word::Upper, n),
            Some(c) if c.is_uppercase() => {
                let mut off = n;
                let mut prev = n;
                let mut stopped: Option<char> = None;
                for c in s[n..].chars() {
                    if !c.is_uppercase() {
                        stopped = Some(c);
                        break;
                    }
                    prev = c.len_utf8();
                    off += prev;
                }
                // "HTTPStatus": the "S" starts the next word
                if let Some(c) = stopped
                    && is_alphabet(c)
                {
                    off -= prev;
                }
                (Word::Upper, off)
            }
            Some(c) if is_alphabet(c) => (
                Word::Upper,
                take_while(n, &|c: char| is_alphabet(c) && !c.is_uppercase()),
            ),
            Some(_) => (Word::Upper, n),
        }
    } else if is_alphabet(r) {
        (
            Word::Alphabet,
            take_while(n, &|c: char| is_alphabet(c) && !c.is_uppercase()),
        )
    } else if r.is_numeric() {
        (Word::Number, take_while(n, &char::is_numeric))
    } else {
        (
            Word::Other,
            take_while(n, &|c: char| {
                !(is_connector(c) || is_alphabet(c) || c.is_numeric() || is_punct(c))
            }),
        )
    };
    (wt, &s[..off], &s[off..])
}

fn to_lower(out: &mut String, wt: Word, word: &str, connector: char) {
    if wt != Word::Upper && wt != Word::Connector {
        out.push_str(word);
        return;
    }
    for c in word.chars() {
        if is_connector(c) {
            out.push(connector);
        } else if c.is_uppercase() {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
}

/// xstrings' `camelCaseToLowerCase` (`snakecase`, `kebabcase`).
fn camel_to_lower(input: &str, connector: char) -> String {
    if input.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    let (mut wt, mut word, mut remaining) = next_word(input);
    while !remaining.is_empty() {
        if wt != Word::Connector {
            to_lower(&mut out, wt, word, connector);
        }
        let prev = wt;
        let last = word;
        (wt, word, remaining) = next_word(remaining);
        match prev {
            Word::Number => {
                while wt == Word::Alphabet || wt == Word::Number {
                    to_lower(&mut out, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if wt != Word::Invalid && wt != Word::Punct && wt != Word::Connector {
                    out.push(connector);
                }
            }
            Word::Connector => to_lower(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if remaining.is_empty() {
                    continue;
                }
                let last = word;
                (wt, word, remaining) = next_word(remaining);
                if wt != Word::Alphabet {
                    to_lower(&mut out, Word::Number, last, connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                out.push(connector);
                to_lower(&mut out, Word::Number, last, connector);
                while wt == Word::Alphabet || wt == Word::Number {
                    to_lower(&mut out, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if wt != Word::Invalid && wt != Word::Connector && wt != Word::Punct {
                    out.push(connector);
                }
            }
        }
    }
    to_lower(&mut out, wt, word, connector);
    out
}

/// Go's `base32.StdEncoding.DecodeString`; the error is the input byte.
fn base32_decode(src: &str) -> Result<Vec<u8>, usize> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let bytes: Vec<(usize, u8)> = src
        .bytes()
        .enumerate()
        .filter(|(_, b)| *b != b'\r' && *b != b'\n')
        .collect();
    let mut out = Vec::new();
    for (q, quantum) in bytes.chunks(8).enumerate() {
        if quantum.len() < 8 {
            return Err(quantum.first().map_or(q * 8, |(i, _)| *i));
        }
        let mut bits: u64 = 0;
        let mut n = 8;
        for (k, (i, b)) in quantum.iter().enumerate() {
            if *b == b'=' {
                if k < 2 || quantum[k..].iter().any(|(_, x)| *x != b'=') {
                    return Err(*i);
                }
                if matches!(k, 1 | 3 | 6) {
                    return Err(*i);
                }
                n = k;
                break;
            }
            let Some(v) = ALPHABET.iter().position(|a| a == b) else {
                return Err(*i);
            };
            bits = (bits << 5) | v as u64;
        }
        bits <<= 5 * (8 - n);
        let bytes_out = match n {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => 0,
        };
        for k in 0..bytes_out {
            out.push((bits >> (32 - 8 * k)) as u8);
        }
        if n < 8 {
            break;
        }
    }
    Ok(out)
}

/// Go's `url.PathUnescape`-like decoding of `%XX` (invalid escapes kept).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hexval(b[i + 1]), hexval(b[i + 2]))
        {
            out.push(h * 16 + l);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hexval(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// sprig's `urlParse` over Go's `url.Parse`.
fn url_parse(raw: &str) -> FResult {
    let (rest, fragment) = match raw.split_once('#') {
        Some((a, f)) => (a, unescape(f)),
        None => (raw, String::new()),
    };
    let mut scheme = String::new();
    let mut rest = rest;
    if let Some(i) = rest.find(':') {
        let cand = &rest[..i];
        if !cand.is_empty()
            && cand.as_bytes()[0].is_ascii_alphabetic()
            && cand
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
        {
            scheme = cand.to_ascii_lowercase();
            rest = &rest[i + 1..];
        } else if i == 0 {
            return ferr(format!(
                "unable to parse url: parse {}: missing protocol scheme",
                crate::gofmt::quote(raw)
            ));
        }
    }
    let (rest, query) = match rest.split_once('?') {
        Some((a, q)) => (a, q.to_string()),
        None => (rest, String::new()),
    };
    let mut opaque = String::new();
    let mut host = String::new();
    let mut userinfo = String::new();
    let mut path = String::new();
    if !scheme.is_empty() && !rest.starts_with('/') {
        opaque = rest.to_string();
    } else if let Some(after) = rest.strip_prefix("//") {
        let end = after.find('/').unwrap_or(after.len());
        let authority = &after[..end];
        path = unescape(&after[end..]);
        match authority.rfind('@') {
            Some(i) => {
                userinfo = authority[..i].to_string();
                host = authority[i + 1..].to_string();
                if !valid_userinfo(&userinfo) {
                    return ferr(format!(
                        "unable to parse url: parse {}: net/url: invalid userinfo",
                        crate::gofmt::quote(raw)
                    ));
                }
            }
            None => host = authority.to_string(),
        }
    } else {
        path = unescape(rest);
    }
    let hostname = if let Some(h) = host.strip_prefix('[') {
        h.split(']').next().unwrap_or_default().to_string()
    } else {
        host.split(':').next().unwrap_or_default().to_string()
    };
    let userinfo = if userinfo.is_empty() {
        String::new()
    } else {
        match userinfo.split_once(':') {
            Some((u, p)) => format!(
                "{}:{}",
                escape(&unescape(u), Mode::User),
                escape(&unescape(p), Mode::Password)
            ),
            None => escape(&unescape(&userinfo), Mode::User),
        }
    };
    Ok(Value::map(
        DICT,
        Value::Nil,
        [
            ("scheme", scheme),
            ("host", host),
            ("hostname", hostname),
            ("path", path),
            ("query", query),
            ("opaque", opaque),
            ("fragment", fragment),
            ("userinfo", userinfo),
        ]
        .into_iter()
        .map(|(k, v)| (Value::str(k), Value::str(v)))
        .collect(),
    ))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Fragment,
    User,
    Password,
}

/// Go's `url.shouldEscape`/`escape` for the modes `URL.String` uses.
fn escape(s: &str, mode: Mode) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'_' | b'.' | b'~')
            || match mode {
                Mode::Path => matches!(
                    b,
                    b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'@'
                ),
                Mode::Host => {
                    matches!(
                        b,
                        b'!' | b'$'
                            | b'&'
                            | b'\''
                            | b'('
                            | b')'
                            | b'*'
                            | b'+'
                            | b','
                            | b';'
                            | b'='
                            | b':'
                            | b'['
                            | b']'
                            | b'<'
                            | b'>'
                            | b'"'
                    ) || b >= 0x80
                }
                Mode::Fragment => matches!(
                    b,
                    b'$' | b'&'
                        | b'+'
                        | b','
                        | b'/'
                        | b':'
                        | b';'
                        | b'='
                        | b'?'
                        | b'@'
                        | b'!'
                        | b'('
                        | b')'
                        | b'*'
                ),
                Mode::User => matches!(
                    b,
                    b'$' | b'&' | b'+' | b',' | b';' | b'=' | b'!' | b'\'' | b'(' | b')' | b'*'
                ),
                Mode::Password => matches!(
                    b,
                    b'$' | b'&'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                        | b'!'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b':'
                ),
            };
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Go's `validUserinfo`.
fn valid_userinfo(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(
                c,
                '-' | '.'
                    | '_'
                    | ':'
                    | '~'
                    | '!'
                    | '$'
                    | '&'
                    | '\''
                    | '('
                    | ')'
                    | '*'
                    | '+'
                    | ','
                    | ';'
                    | '='
                    | '%'
                    | '@'
            )
    })
}

/// sprig's `urlJoin` over Go's `URL.String`.
fn url_join(d: &Value) -> FResult {
    let get = |k: &str| -> Result<String, FuncError> {
        match d.get_key(k) {
            None => Ok(String::new()),
            Some(Value::String(v)) => Ok(v.to_string()),
            Some(other) => ferr(format!(
                "unable to parse {k} key, must be of type string, but {} found",
                other.kind_name()
            )),
        }
    };
    let (scheme, host, path, query, opaque, fragment, userinfo) = (
        get("scheme")?,
        get("host")?,
        get("path")?,
        get("query")?,
        get("opaque")?,
        get("fragment")?,
        get("userinfo")?,
    );
    if !userinfo.is_empty() && !valid_userinfo(&userinfo) {
        return ferr(format!(
            "unable to parse userinfo in dict: parse {}: net/url: invalid userinfo",
            crate::gofmt::quote(&format!("proto://{userinfo}@host"))
        ));
    }
    let user = if userinfo.is_empty() {
        None
    } else {
        Some(match userinfo.split_once(':') {
            Some((u, p)) => format!(
                "{}:{}",
                escape(&unescape(u), Mode::User),
                escape(&unescape(p), Mode::Password)
            ),
            None => escape(&unescape(&userinfo), Mode::User),
        })
    };
    let mut out = String::new();
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    if !opaque.is_empty() {
        out.push_str(&opaque);
    } else {
        if !scheme.is_empty() || !host.is_empty() || user.is_some() {
            if !host.is_empty() || !path.is_empty() || user.is_some() {
                out.push_str("//");
            }
            if let Some(u) = &user {
                out.push_str(u);
                out.push('@');
            }
            out.push_str(&escape(&host, Mode::Host));
        }
        let p = escape(&path, Mode::Path);
        if !p.is_empty() && !p.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        if out.is_empty()
            && let Some(i) = p.find(':')
            && !p[..i].contains('/')
        {
            out.push_str("./");
        }
        out.push_str(&p);
    }
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(&escape(&fragment, Mode::Fragment));
    }
    Ok(Value::str(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_conversions_like_xstrings() {
        for (input, snake) in [
            ("FirstName", "first_name"),
            ("HTTPServer", "http_server"),
            ("NoHTTPS", "no_https"),
            ("GO_PATH", "go_path"),
            ("GO PATH", "go_path"),
            ("GO-PATH", "go_path"),
            ("http2xx", "http_2xx"),
            ("HTTP20xOK", "http_20x_ok"),
            ("Duration2m3s", "duration_2m3s"),
            ("Bld4Floor3rd", "bld4_floor_3rd"),
        ] {
            assert_eq!(camel_to_lower(input, '_'), snake, "{input}");
        }
        assert_eq!(to_camel_case("some_words", true), "SomeWords");
        assert_eq!(to_camel_case("http_server", true), "HttpServer");
        assert_eq!(to_camel_case("_complex__case_", true), "_Complex_Case_");
    }

    #[test]
    fn base32_like_go() {
        assert_eq!(base32_decode("NBSWY3DP").expect("ok"), b"hello");
        assert_eq!(base32_decode("NBSWY3DPEE======").expect("ok"), b"hello!");
        assert_eq!(base32_decode("NBSW").expect_err("short"), 0);
        assert_eq!(base32_decode("NBSWY3D!").expect_err("bad"), 7);
    }
}
