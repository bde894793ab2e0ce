use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ferroflux_store::{Options, Store, revision};

/// Set in the re-executed test binary: run the write loop on this path.
const CHILD_ENV: &str = "FERROFLUX_STORE_CRASH_CHILD";
const IMAGES: u64 = 16;
const BATCH: [&str; 4] = ["batch/a", "batch/b", "batch/c", "batch/d"];

fn generation_tags(g: u64) -> Vec<String> {
    (0..(50 + g % 300)).map(|j| format!("g{g}-t{j}")).collect()
}

fn generation_of(tags: &[String]) -> u64 {
    let first = tags.first().expect("a stored list is never empty here");
    let g = first
        .strip_prefix('g')
        .and_then(|r| r.split_once('-'))
        .expect("tag shape g<n>-t<j>")
        .0;
    g.parse().expect("generation number")
}

/// The child: write forever (killed by the parent).
fn write_forever(path: &Path) -> ! {
    let store = Store::open(path, Options::default()).expect("child opens the store");
    for g in 0.. {
        let tags = generation_tags(g);
        let time = UNIX_EPOCH + Duration::from_secs(g);
        store
            .put_tags(&format!("r.io/img{}", g % IMAGES), &tags, time)
            .expect("put tags");
        let batch: Vec<(&str, &[String])> = BATCH.iter().map(|n| (*n, tags.as_slice())).collect();
        store.put_tags_many(&batch, time).expect("put batch");
        store
            .put_status(
                &format!("ImageRepository/ns/img{}", g % IMAGES),
                &serde_json::json!({"generation": g, "tagCount": tags.len()}),
            )
            .expect("put status");
        println!("wrote {g}");
    }
    unreachable!("the loop above never ends")
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn survives_sigkill_mid_write() {
    if let Some(path) = std::env::var_os(CHILD_ENV) {
        write_forever(Path::new(&path));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.redb");
    for round in 0..3u64 {
        let child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash::survives_sigkill_mid_write",
                "--nocapture",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut child = KillOnDrop(child);
        let stdout = child.0.stdout.take().unwrap();
        let want = format!("wrote {}", 30 + round * 7);
        let seen = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line == want);
        assert!(seen, "child stopped before '{want}'");
        // The child keeps writing while we read; the kill lands mid-loop.
        std::thread::sleep(Duration::from_millis(5 + round * 11));
        child.0.kill().unwrap(); // SIGKILL on Unix
        child.0.wait().unwrap();
        drop(child);

        let store = Store::open(&path, Options::default()).unwrap();
        let images = store.images().unwrap();
        assert!(images.len() >= 4 + 16, "{images:?}");
        for image in images.iter().filter(|i| *i != "after/crash") {
            let record = store.get_tags(image).unwrap().unwrap();
            let g = generation_of(&record.tags);
            assert_eq!(record.tags, generation_tags(g), "{image}");
            assert_eq!(record.revision, revision(&record.tags), "{image}");
            assert_eq!(
                record.scan_time,
                UNIX_EPOCH + Duration::from_secs(g),
                "{image}"
            );
            if let Some(n) = image.strip_prefix("r.io/img") {
                assert_eq!(g % IMAGES, n.parse::<u64>().unwrap(), "{image}");
            }
        }
        // put_tags_many is one transaction: the batch is all-or-nothing.
        let batch: Vec<u64> = BATCH
            .iter()
            .map(|n| generation_of(&store.get_tags(n).unwrap().unwrap().tags))
            .collect();
        assert!(batch.iter().all(|g| *g == batch[0]), "{batch:?}");
        for (name, status) in store.list_status("ImageRepository").unwrap() {
            let g = status["generation"].as_u64().unwrap();
            assert_eq!(format!("ns/img{}", g % IMAGES), name);
            assert_eq!(status["tagCount"].as_u64().unwrap(), 50 + g % 300);
        }
        // Still writable after the crash.
        store
            .put_tags("after/crash", &["ok".to_owned()], SystemTime::now())
            .unwrap();
    }
}
