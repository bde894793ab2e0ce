//! The event text Flux emits after a push (`PushResult.Summary()`), which
//! notification-controller Alerts forward with the commit message.

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum EventError {
    #[error("empty push commit revision")]
    EmptyRevision,
}

/// What was pushed.
#[derive(Clone, Debug, Default)]
pub struct PushResult<'a> {
    pub branch: &'a str,
    /// The pushed commit's full hash.
    pub revision: &'a str,
    pub commit_message: &'a str,
    /// Extra `push.refspec`s pushed besides the branch.
    pub refspecs: &'a [String],
}

/// `pushed commit '<sha[:7]>' to branch '<branch>'[ and refspecs '<r1>', '<r2>']`
/// followed by a newline and the commit message when there is one.
pub fn push_summary(r: &PushResult<'_>) -> Result<String, EventError> {
    if r.revision.is_empty() {
        return Err(EventError::EmptyRevision);
    }
    let short: String = r.revision.chars().take(7).collect();
    let mut s = format!("pushed commit '{short}' to branch '{}'", r.branch);
    if !r.refspecs.is_empty() {
        s.push_str(&format!(" and refspecs '{}'", r.refspecs.join("', '")));
    }
    if !r.commit_message.is_empty() {
        s.push('\n');
        s.push_str(r.commit_message);
    }
    Ok(s)
}
