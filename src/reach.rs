//! Whom a stop signal reaches: the pure decision behind "nothing outlives guillotine".
//!
//! Owns: [`Process`] (one process as a scan of `/proc` saw it), [`Target`] (what a signal is
//! sent to: a group, one of our children, or a deeper descendant named by pid *and* start
//! time), [`descendants`] and [`stop_targets`], which turn one scan into the targets not yet
//! signalled in this phase of the stop.
//! Never: reads `/proc` or sends anything (that is `sys::process`), or keeps state between
//! scans (the supervisor remembers what it already signalled).
//!
//! The rule, phase by phase:
//! - the stop signal goes to the child's group and to every *orphan* we adopted (a process
//!   whose parent is guillotine itself, outside the child's group; an orphan leading its own
//!   group gets it group-wide, so the workers it forked get it too). A process whose parent
//!   is still alive is that parent's to stop (PostgreSQL's postmaster stops the backends it
//!   `setsid`s); it becomes ours, and gets the signal, once it is adopted.
//! - SIGKILL goes to every descendant, whatever its session or group.
//!
//! Processes are adopted *after* their parent dies, which is mid-stop by nature, so the
//! supervisor asks for a new scan at every reap and at a backoff while a stop runs; each scan
//! signals only what no earlier scan of the same phase signalled.

use std::collections::{BTreeMap, BTreeSet};

/// One process, as one scan of `/proc/<pid>/stat` saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: i32,
    pub parent: i32,
    pub group: i32,
    /// In clock ticks since boot: with the pid, it names one process even if the pid is
    /// reused later.
    pub start_time: u64,
    /// The one-letter state: R, S, D (uninterruptible: survives SIGKILL for now), T, Z, …
    pub state: char,
    /// The command name (`comm`, at most 15 bytes).
    pub name: String,
}

impl Process {
    /// A zombie (or a process being torn down) has already ended: signals mean nothing to it.
    pub fn has_ended(&self) -> bool {
        matches!(self.state, 'Z' | 'X' | 'x')
    }

    fn id(&self) -> ProcessId {
        ProcessId {
            pid: self.pid,
            start_time: self.start_time,
        }
    }
}

/// A process named so that a reused pid is never mistaken for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProcessId {
    pub pid: i32,
    pub start_time: u64,
}

/// What one signal is sent to. Never a bare or negated integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// A process group led by one of our unreaped children (or the child's group, whose id
    /// cannot be reused while any member lives): killpg.
    Group(i32),
    /// One of our own children: not reaped yet (we are its only reaper), so its pid is its.
    Child(i32),
    /// A deeper descendant: sent only if the pid still names the process with this start
    /// time (its parent, not us, may reap it at any moment).
    Descendant(ProcessId),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Group(group) => write!(f, "group {group}"),
            Target::Child(pid) => write!(f, "pid {pid}"),
            Target::Descendant(process) => write!(f, "pid {}", process.pid),
        }
    }
}

/// How far a signal reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// The child's group and every adopted orphan (the stop signal).
    GroupAndOrphans,
    /// Every descendant (SIGKILL).
    Everything,
}

/// Who guillotine is in the tree: its pid and group, and the child's pid (which is also the
/// child's group id: it was started as a group leader).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roots {
    pub own_pid: i32,
    pub own_group: i32,
    pub child: i32,
}

/// The processes of `all` that descend from `root` (not `root` itself), parents first.
pub fn descendants(all: &[Process], root: i32) -> Vec<Process> {
    let mut by_parent: BTreeMap<i32, Vec<&Process>> = BTreeMap::new();
    for process in all {
        by_parent.entry(process.parent).or_default().push(process);
    }
    let mut found = Vec::new();
    let mut queue = vec![root];
    let mut visited = BTreeSet::from([root]);
    while let Some(parent) = queue.pop() {
        for &process in by_parent.get(&parent).map(Vec::as_slice).unwrap_or(&[]) {
            if visited.insert(process.pid) {
                found.push(process.clone());
                queue.push(process.pid);
            }
        }
    }
    found
}

/// What is already signalled in the current phase of a stop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signalled {
    groups: BTreeSet<i32>,
    processes: BTreeSet<ProcessId>,
}

impl Signalled {
    /// Whether this process was reached, by itself or through its group.
    pub fn covers(&self, process: &Process) -> bool {
        self.processes.contains(&process.id()) || self.groups.contains(&process.group)
    }
}

/// The targets in `tree` (guillotine's descendants, from [`descendants`]) that `reach`
/// covers and `signalled` does not yet; records them in `signalled`. Processes that have
/// ended (zombies) are nobody's target; a group is a target only while a live member of it
/// is in the tree — except the child's, which is one as long as the child is unreaped
/// (`child_unreaped`): its id is then the child's own, and the stop must reach it even when
/// `/proc` shows nothing (not mounted, or another PID namespace's).
pub fn stop_targets(
    tree: &[Process],
    roots: Roots,
    reach: Reach,
    signalled: &mut Signalled,
    child_unreaped: bool,
) -> Vec<Target> {
    let mut targets = Vec::new();
    let live: Vec<&Process> = tree.iter().filter(|p| !p.has_ended()).collect();
    // Seen as a zombie with nobody left in its group: nothing to reach (a signal then would
    // only make an ending that raced the grace period count as a kill).
    let group_ended = tree
        .iter()
        .any(|process| process.pid == roots.child && process.has_ended())
        && !live.iter().any(|process| process.group == roots.child);
    if child_unreaped && !group_ended && signalled.groups.insert(roots.child) {
        targets.push(Target::Group(roots.child));
    }
    let ours = |process: &Process| process.parent == roots.own_pid;
    // Groups we may signal as a whole: the child's, and those led by one of our children.
    let signallable_group = |group: i32| {
        group != roots.own_group
            && (group == roots.child
                || live
                    .iter()
                    .any(|leader| leader.pid == group && ours(leader)))
    };
    for process in &live {
        if signalled.covers(process) {
            continue;
        }
        let in_reach = match reach {
            Reach::GroupAndOrphans => process.group == roots.child || ours(process),
            Reach::Everything => true,
        };
        if !in_reach {
            continue;
        }
        if signallable_group(process.group) {
            signalled.groups.insert(process.group);
            targets.push(Target::Group(process.group));
        } else if ours(process) {
            signalled.processes.insert(process.id());
            targets.push(Target::Child(process.pid));
        } else {
            signalled.processes.insert(process.id());
            targets.push(Target::Descendant(process.id()));
        }
    }
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: i32 = 100;
    const CHILD: i32 = 200;
    const ROOTS: Roots = Roots {
        own_pid: ME,
        own_group: 50,
        child: CHILD,
    };

    fn process(pid: i32, parent: i32, group: i32) -> Process {
        Process {
            pid,
            parent,
            group,
            start_time: pid as u64 * 10,
            state: 'S',
            name: format!("p{pid}"),
        }
    }

    /// The targets of one scan, in a fixed order (the scan's order is the tree walk's).
    fn targets(tree: &[Process], reach: Reach, signalled: &mut Signalled) -> Vec<Target> {
        let mut targets = stop_targets(tree, ROOTS, reach, signalled, false);
        targets.sort_unstable();
        targets
    }

    fn descendant(pid: i32) -> Target {
        Target::Descendant(ProcessId {
            pid,
            start_time: pid as u64 * 10,
        })
    }

    /// guillotine (100) → child (200, its own group) → worker 201 in the group, and 202 in a
    /// session of its own (a PostgreSQL backend); 300 an orphan leading its own group with a
    /// worker 301; 400 an orphan that joined no group of its own.
    fn tree() -> Vec<Process> {
        vec![
            process(1, 0, 1),
            process(ME, 1, 50),
            process(CHILD, ME, CHILD),
            process(201, CHILD, CHILD),
            process(202, CHILD, 202),
            process(300, ME, 300),
            process(301, 300, 300),
            process(400, ME, 50),
            process(999, 1, 999),
        ]
    }

    #[test]
    fn descendants_are_found_at_any_depth_and_nothing_else() {
        let mut pids: Vec<i32> = descendants(&tree(), ME).iter().map(|p| p.pid).collect();
        pids.sort_unstable();
        assert_eq!(pids, vec![CHILD, 201, 202, 300, 301, 400]);
        // A loop in a racy scan cannot hang the walk.
        let looped = vec![process(5, 6, 5), process(6, 5, 6)];
        assert_eq!(descendants(&looped, 5).len(), 1);
    }

    #[test]
    fn the_stop_signal_reaches_the_group_and_orphans_but_not_managed_processes() {
        let tree = descendants(&tree(), ME);
        let mut signalled = Signalled::default();
        assert_eq!(
            targets(&tree, Reach::GroupAndOrphans, &mut signalled),
            vec![Target::Group(CHILD), Target::Group(300), Target::Child(400)]
        );
        // The same scan again: nothing new.
        assert_eq!(
            targets(&tree, Reach::GroupAndOrphans, &mut signalled),
            vec![]
        );
    }

    #[test]
    fn a_process_adopted_later_is_signalled_on_the_next_scan() {
        let mut tree = descendants(&tree(), ME);
        let mut signalled = Signalled::default();
        targets(&tree, Reach::GroupAndOrphans, &mut signalled);
        // The child died; its setsid backend 202 is re-parented to us, and leads its group.
        tree.retain(|p| p.pid != CHILD);
        tree.iter_mut().find(|p| p.pid == 202).unwrap().parent = ME;
        assert_eq!(
            targets(&tree, Reach::GroupAndOrphans, &mut signalled),
            vec![Target::Group(202)]
        );
    }

    #[test]
    fn a_reused_pid_is_a_new_process() {
        let mut tree = descendants(&tree(), ME);
        let mut signalled = Signalled::default();
        targets(&tree, Reach::GroupAndOrphans, &mut signalled);
        let reused = tree.iter_mut().find(|p| p.pid == 400).unwrap();
        reused.start_time += 1;
        assert_eq!(
            targets(&tree, Reach::GroupAndOrphans, &mut signalled),
            vec![Target::Child(400)]
        );
    }

    #[test]
    fn sigkill_reaches_every_descendant_whatever_its_session() {
        let tree = descendants(&tree(), ME);
        let mut signalled = Signalled::default();
        assert_eq!(
            targets(&tree, Reach::Everything, &mut signalled),
            vec![
                Target::Group(CHILD),
                Target::Group(300),
                Target::Child(400),
                descendant(202),
            ]
        );
    }

    #[test]
    fn zombies_and_empty_groups_are_nobody_s_target() {
        let mut tree = descendants(&tree(), ME);
        for process in &mut tree {
            process.state = 'Z';
        }
        let mut signalled = Signalled::default();
        assert_eq!(targets(&tree, Reach::Everything, &mut signalled), vec![]);
    }

    #[test]
    fn an_unreaped_child_s_group_is_a_target_even_when_proc_shows_nothing() {
        let mut signalled = Signalled::default();
        assert_eq!(
            stop_targets(&[], ROOTS, Reach::GroupAndOrphans, &mut signalled, true),
            vec![Target::Group(CHILD)]
        );
        assert_eq!(
            stop_targets(&[], ROOTS, Reach::GroupAndOrphans, &mut signalled, true),
            vec![]
        );
    }

    #[test]
    fn guillotine_s_own_group_is_never_signalled_as_a_group() {
        // An orphan that leads no group of its own but sits in ours (a double fork that did
        // not setsid, as PID 1): only the process is signalled.
        let tree = vec![process(400, ME, 50), process(401, 400, 50)];
        let mut signalled = Signalled::default();
        assert_eq!(
            targets(&tree, Reach::Everything, &mut signalled),
            vec![Target::Child(400), descendant(401)]
        );
    }

    #[test]
    fn a_group_led_by_a_deeper_descendant_is_reached_process_by_process() {
        // 202 leads its own group; it is not our child, so its group id is only safe to use
        // through verified processes.
        let tree = vec![
            process(CHILD, ME, CHILD),
            process(202, CHILD, 202),
            process(203, 202, 202),
        ];
        let mut signalled = Signalled::default();
        assert_eq!(
            targets(&tree, Reach::Everything, &mut signalled),
            vec![Target::Group(CHILD), descendant(202), descendant(203)]
        );
    }
}
