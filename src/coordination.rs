//! When the sentinels say the main side is done: any one of `--watch`, or every one of
//! `--watch-all`, each either written or abandoned (its main containers gone without
//! writing it, as their dead-man's lock says).
//!
//! Owns: the state of each watched sentinel and the decision. Never: looks at a file or a
//! lock (the event loop reports what it saw).

use crate::exit::Cause;

/// How a sentinel counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `--watch`: this one alone is enough.
    Any,
    /// `--watch-all`: needed with every other `--watch-all`.
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Written,
    Abandoned,
}

/// The watched sentinels, in the order the event loop numbers them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coordination {
    sentinels: Vec<(Kind, State)>,
}

impl Coordination {
    pub fn new(kinds: impl IntoIterator<Item = Kind>) -> Self {
        Coordination {
            sentinels: kinds
                .into_iter()
                .map(|kind| (kind, State::Pending))
                .collect(),
        }
    }

    /// Sentinel `index` exists. A written sentinel wins over an abandonment seen earlier:
    /// the main container wrote it, then let its lock go.
    pub fn written(&mut self, index: usize) {
        if let Some((_, state)) = self.sentinels.get_mut(index) {
            *state = State::Written;
        }
    }

    /// Every holder of sentinel `index`'s lock has gone without writing it.
    pub fn abandoned(&mut self, index: usize) {
        if let Some((_, state @ State::Pending)) = self.sentinels.get_mut(index) {
            *state = State::Abandoned;
        }
    }

    /// Whether the main side is done, and why: [`Cause::Sentinel`] when what decided was
    /// written, [`Cause::Abandoned`] when a main container went without writing its part.
    pub fn done(&self) -> Option<Cause> {
        let cause = |state: State| match state {
            State::Written => Some(Cause::Sentinel),
            State::Abandoned => Some(Cause::Abandoned),
            State::Pending => None,
        };
        let any = self.of(Kind::Any);
        let written_any = any.contains(&State::Written);
        if written_any {
            return Some(Cause::Sentinel);
        }
        if let Some(abandoned) = any.iter().find_map(|state| cause(*state)) {
            return Some(abandoned);
        }
        let all = self.of(Kind::All);
        if all.is_empty() || all.contains(&State::Pending) {
            return None;
        }
        Some(if all.contains(&State::Abandoned) {
            Cause::Abandoned
        } else {
            Cause::Sentinel
        })
    }

    fn of(&self, kind: Kind) -> Vec<State> {
        self.sentinels
            .iter()
            .filter(|(of, _)| *of == kind)
            .map(|(_, state)| *state)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_watch_is_enough() {
        let mut coordination = Coordination::new([Kind::Any, Kind::Any]);
        assert_eq!(coordination.done(), None);
        coordination.written(1);
        assert_eq!(coordination.done(), Some(Cause::Sentinel));
    }

    #[test]
    fn every_watch_all_is_needed_and_an_abandoned_one_counts() {
        let mut coordination = Coordination::new([Kind::All, Kind::All, Kind::All]);
        coordination.written(0);
        coordination.abandoned(2);
        assert_eq!(coordination.done(), None);
        coordination.written(1);
        assert_eq!(coordination.done(), Some(Cause::Abandoned));
        coordination.written(2);
        assert_eq!(coordination.done(), Some(Cause::Sentinel), "written wins");
    }

    #[test]
    fn any_watch_or_all_watch_all() {
        let mut coordination = Coordination::new([Kind::Any, Kind::All, Kind::All]);
        coordination.written(1);
        coordination.written(2);
        assert_eq!(coordination.done(), Some(Cause::Sentinel));
        let mut coordination = Coordination::new([Kind::Any, Kind::All, Kind::All]);
        coordination.abandoned(0);
        assert_eq!(coordination.done(), Some(Cause::Abandoned));
    }

    #[test]
    fn an_abandonment_does_not_undo_a_written_sentinel() {
        let mut coordination = Coordination::new([Kind::Any]);
        coordination.written(0);
        coordination.abandoned(0);
        assert_eq!(coordination.done(), Some(Cause::Sentinel));
    }
}
