//! The measured command as a child process: spawned with inherited stdin/stdout/stderr, its exit
//! status passed through, and signals sent to kite forwarded to it.
//!
//! Forwarding rule: a signal *sent* to kite by another process (`kill -TERM <kite>`, a batch
//! scheduler) is forwarded to the child. A signal the *kernel* generated for the terminal's
//! foreground process group (Ctrl-C, Ctrl-\, hang-up) already reached the child too, so it is not
//! sent again (a second SIGINT would interrupt the child's own clean-up). Either way kite keeps
//! running until the child exits, so the run is always recorded.

use signal_hook::consts::{SIGHUP, SIGINT, SIGKILL, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2};
use signal_hook::iterator::SignalsInfo;
use signal_hook::iterator::exfiltrator::origin::WithOrigin;
use signal_hook::low_level::siginfo::Cause;
use std::ffi::OsString;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};
use std::thread::JoinHandle;

/// Why the command could not be started, with the exit code a shell would use.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// No such program on PATH (exit 127).
    #[error(
        "command not found: `{program}` (not on PATH and not a file); check the spelling or give a full path"
    )]
    NotFound {
        /// The program as given.
        program: String,
    },
    /// Found but not executable (exit 126).
    #[error("cannot execute `{program}`: permission denied; make it executable (chmod +x)")]
    NotExecutable {
        /// The program as given.
        program: String,
    },
    /// Anything else (exit 126).
    #[error("cannot start `{program}`: {source}")]
    Other {
        /// The program as given.
        program: String,
        /// Why.
        #[source]
        source: io::Error,
    },
}

impl SpawnError {
    /// The exit code a shell uses for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            SpawnError::NotFound { .. } => 127,
            SpawnError::NotExecutable { .. } | SpawnError::Other { .. } => 126,
        }
    }
}

/// A running child with signal forwarding.
pub struct Child {
    child: std::process::Child,
    handle: signal_hook::iterator::Handle,
    forwarder: Option<JoinHandle<()>>,
    /// The last signal kite received while the child ran (0 if none).
    last_signal: Arc<AtomicI32>,
}

/// Starts `argv[0]` with `argv[1..]`, inheriting stdio.
pub fn spawn(argv: &[OsString]) -> Result<Child, SpawnError> {
    let program = argv
        .first()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Install the handlers before the child exists, so no signal falls between the two.
    let mut signals =
        SignalsInfo::<WithOrigin>::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2])
            .map_err(|source| SpawnError::Other {
                program: program.clone(),
                source,
            })?;
    let handle = signals.handle();
    #[allow(clippy::disallowed_methods)] // The one place kite starts the user's command.
    let spawned = Command::new(&argv[0]).args(&argv[1..]).spawn();
    let child = match spawned {
        Ok(c) => c,
        Err(e) => {
            handle.close();
            return Err(match e.kind() {
                io::ErrorKind::NotFound => SpawnError::NotFound { program },
                io::ErrorKind::PermissionDenied => SpawnError::NotExecutable { program },
                _ => SpawnError::Other { program, source: e },
            });
        }
    };
    let pid = i32::try_from(child.id()).unwrap_or(i32::MAX);
    let last_signal = Arc::new(AtomicI32::new(0));
    let seen = Arc::clone(&last_signal);
    let forwarder = std::thread::Builder::new()
        .name("kite-signals".into())
        .spawn(move || {
            for origin in signals.forever() {
                seen.store(origin.signal, Ordering::Relaxed);
                if matches!(origin.cause, Cause::Sent(_)) {
                    forward(pid, origin.signal);
                }
            }
        })
        .ok();
    Ok(Child {
        child,
        handle,
        forwarder,
        last_signal,
    })
}

fn forward(pid: i32, signal: i32) {
    if let Ok(sig) = nix::sys::signal::Signal::try_from(signal) {
        // A child that already exited gives ESRCH: nothing to forward to, nothing to report.
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig);
    }
}

impl Child {
    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the child, then stops forwarding. Returns its status and the last signal kite
    /// received meanwhile (if any).
    pub fn wait(self) -> io::Result<(ExitStatus, Option<i32>)> {
        self.wait_then(|| ())
    }

    /// Like [`Child::wait`], but calls `before_reap` once the child has exited and before it is
    /// reaped. Until then it is a zombie whose `/proc/<pid>/stat` still holds its own CPU time
    /// and its reaped children's; reaping moves both into kite's `cutime`, out of the tree.
    pub fn wait_then(
        mut self,
        before_reap: impl FnOnce(),
    ) -> io::Result<(ExitStatus, Option<i32>)> {
        use nix::sys::wait::{Id, WaitPidFlag, waitid};
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap_or(i32::MAX));
        // Any other result means the exit is known, or cannot be waited for without reaping:
        // `before_reap` still runs, and the reap below reports a real error.
        while let Err(nix::errno::Errno::EINTR) =
            waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT)
        {}
        before_reap();
        let status = self.child.wait();
        self.handle.close();
        if let Some(t) = self.forwarder.take() {
            let _ = t.join();
        }
        let sig = self.last_signal.load(Ordering::Relaxed);
        Ok((status?, (sig != 0).then_some(sig)))
    }
}

/// The exit code to pass through: the child's own, or 128 + the signal that killed it.
pub fn exit_code(status: ExitStatus) -> u8 {
    match (status.code(), status.signal()) {
        (Some(code), _) => u8::try_from(code & 0xff).unwrap_or(1),
        (None, Some(sig)) => u8::try_from(128 + sig).unwrap_or(255),
        (None, None) => 1,
    }
}

/// A signal's name for messages.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        SIGINT => "SIGINT",
        SIGTERM => "SIGTERM",
        SIGHUP => "SIGHUP",
        SIGQUIT => "SIGQUIT",
        SIGUSR1 => "SIGUSR1",
        SIGUSR2 => "SIGUSR2",
        SIGKILL => "SIGKILL",
        _ => "a signal",
    }
}
