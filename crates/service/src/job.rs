//! The job model: what was submitted, its state machine, its plan and its events.
//!
//! Every change of state goes through [`State::allows`], the one transition table, and is
//! recorded as an [`Event`] in the same transaction (see [`crate::queue`]).

use crate::executor::Handle;
use kite_core::Timestamp;
use serde::{Deserialize, Serialize};

/// Where a job is in its life.
///
/// ```text
/// pending ──► planned ──► running ──► succeeded | failed | cancelled | lost
///    │  ◄──────┘ │  ◄───────┘ (replan; start refused by the backend)
///    └──► cancelled | missed-deadline ◄─┘
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum State {
    /// Accepted and durable; not planned yet (or no longer placeable, with the reason).
    Pending,
    /// Placed in a region and window; handed to its executor, which holds it until then.
    Planned,
    /// Started (committed before the executor was asked to start it).
    Running,
    /// Exited with status 0.
    Succeeded,
    /// Exited with a non-zero status, or could not be started.
    Failed,
    /// Cancelled by a user.
    Cancelled,
    /// Could no longer finish before its deadline before it started.
    MissedDeadline,
    /// Was running, and its process vanished without an exit status (never restarted).
    Lost,
}

/// Every allowed transition. `running → planned` is only taken when the executor answered a
/// start with a backend error (it did not start the job); a retry that finds the job started
/// anyway gets `AlreadyStarted` and keeps it running, so nothing is started twice.
/// Self-transitions of `planned` (replanned) and `running`
/// (re-attached, suspended, resumed) record events without changing state.
const TRANSITIONS: &[(State, State)] = {
    use State::*;
    &[
        (Pending, Planned),
        (Pending, Pending),
        (Pending, Cancelled),
        (Pending, MissedDeadline),
        (Planned, Planned),
        (Planned, Pending),
        (Planned, Running),
        (Planned, Cancelled),
        (Planned, MissedDeadline),
        (Running, Running),
        // The backend refused or could not be reached when asked to start it: not started.
        (Running, Planned),
        (Running, Succeeded),
        (Running, Failed),
        (Running, Cancelled),
        (Running, Lost),
    ]
};

impl State {
    /// Every state, in lifecycle order.
    pub const ALL: [State; 8] = [
        State::Pending,
        State::Planned,
        State::Running,
        State::Succeeded,
        State::Failed,
        State::Cancelled,
        State::MissedDeadline,
        State::Lost,
    ];

    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Planned => "planned",
            State::Running => "running",
            State::Succeeded => "succeeded",
            State::Failed => "failed",
            State::Cancelled => "cancelled",
            State::MissedDeadline => "missed-deadline",
            State::Lost => "lost",
        }
    }

    /// Parses [`State::as_str`]'s spelling.
    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// No transition leaves a terminal state.
    pub fn is_terminal(self) -> bool {
        !matches!(self, State::Pending | State::Planned | State::Running)
    }

    /// Whether `self → to` is in the transition table.
    pub fn allows(self, to: State) -> bool {
        TRANSITIONS.contains(&(self, to))
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What was submitted, with times made absolute at acceptance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRequest {
    /// Program and arguments.
    pub command: Vec<String>,
    /// Run time, in seconds.
    pub duration_secs: i64,
    /// Finished by this.
    pub deadline: Timestamp,
    /// Not started before this.
    pub earliest_start: Timestamp,
    /// May be suspended and resumed at piece boundaries.
    pub interruptible: bool,
    /// Allowed regions, as typed (zones, aliases or cloud regions), in order of preference.
    pub regions: Vec<String>,
    /// GPUs (capacity units) the job occupies while running.
    pub gpus: u32,
    /// Owning team.
    pub team: Option<String>,
    /// Project (passed to `kite run --project`).
    pub project: Option<String>,
    /// Mean power while running, in watts, if known (emissions scale with it; the plan does not).
    pub power_w: Option<f64>,
}

/// A job's placement, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanInfo {
    /// The policy that placed it.
    pub policy: String,
    /// When the plan was made.
    pub planned_at: Timestamp,
    /// The zone it runs in.
    pub region: String,
    /// Start of the first piece.
    pub start: Timestamp,
    /// End of the last piece.
    pub end: Timestamp,
    /// Each piece `[start, end)`; more than one only for interruptible jobs.
    pub pieces: Vec<[Timestamp; 2]>,
    /// Energy assumed for the plan (power × duration), kWh.
    pub energy_kwh: f64,
    /// Expected emissions in the planned window, gCO2e.
    pub emissions_g: f64,
    /// Emissions of starting as soon as allowed in the first region (`None`: not covered).
    pub run_now_emissions_g: Option<f64>,
    /// Saving against running now, percent.
    pub saved_percent: Option<f64>,
    /// Why this window, in words (policy, mean intensity against running now, signal sources).
    pub why: String,
}

/// One job as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// Time-ordered unique id (ULID).
    pub id: String,
    /// When it was accepted.
    pub submitted_at: Timestamp,
    /// What was asked for.
    pub request: JobRequest,
    /// Current state.
    pub state: State,
    /// Why it is in that state (e.g. why it is not planned, why it failed).
    pub reason: Option<String>,
    /// Last change.
    pub updated_at: Timestamp,
    /// The current plan, if any.
    pub plan: Option<PlanInfo>,
    /// The executor it runs on.
    pub executor: String,
    /// The executor's handle, persisted so a restarted service reconciles.
    pub handle: Option<Handle>,
    /// How many times a start was committed (never more than 1: nothing is started twice).
    pub attempt: u32,
    /// When it started.
    pub started_at: Option<Timestamp>,
    /// When it ended.
    pub finished_at: Option<Timestamp>,
    /// The command's exit status.
    pub exit_code: Option<i32>,
}

/// One recorded transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When.
    pub at: Timestamp,
    /// State before.
    pub from: Option<State>,
    /// State after.
    pub to: State,
    /// What happened, in words.
    pub reason: String,
}

/// A new time-ordered id: 48 bits of milliseconds and 80 random bits, Crockford base 32 (ULID).
pub fn new_id(now: Timestamp) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let ms = u128::try_from(now.as_millisecond()).unwrap_or(0) & ((1 << 48) - 1);
    let mut random = [0u8; 10];
    crate::secret::fill_random(&mut random);
    let rand = random
        .iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    let value = (ms << 80) | rand;
    (0..26)
        .rev()
        .map(|i| ALPHABET[((value >> (i * 5)) & 31) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn terminal_states_have_no_way_out() {
        for from in State::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in State::ALL {
                assert!(!from.allows(to), "{from} -> {to}");
            }
        }
        assert!(!State::Running.allows(State::Pending));
    }

    #[test]
    fn states_round_trip_and_ids_are_ordered() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
        }
        let a = new_id(Timestamp::from_second(1_000).unwrap());
        let b = new_id(Timestamp::from_second(2_000).unwrap());
        assert_eq!(a.len(), 26);
        assert!(a < b);
    }
}
