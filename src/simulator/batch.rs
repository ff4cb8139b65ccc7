//! The continuous-batching engine as a pure state machine on a virtual clock.
//!
//! [`BatchScheduler`] knows nothing about tokio or HTTP: it is fed arrivals and
//! "advance to time t" calls, and emits tokens (with the virtual time at which
//! the model generates them) to per-sequence [`SeqSink`]s. The async engine in
//! `engine.rs` drives it with the real clock; [`simulate`] drives it with a list
//! of arrivals and returns every token time, which is how the model is tested
//! exactly and how a caller can compute the expected schedule of any workload.
//!
//! # Rules (times in ns on [`crate::clock::now_ns`])
//!
//! 1. A request **arrives** at `a` and joins the FIFO queue. If the scheduler has
//!    already processed events past `a` (the engine task learnt of the request
//!    late), its arrival is taken as the scheduler's current time instead.
//! 2. **Admission**: while fewer than `max_batch` sequences hold a slot
//!    (prefilling, waiting to join, or decoding), the queue head is admitted at
//!    the current time `t` and prefills until `t + prefill(prompt_tokens)`.
//!    A sequence whose receiver is gone is dropped instead of admitted.
//! 3. **Prefill end** emits token 0 at that instant. The sequence then waits for
//!    the next step boundary to join the decode batch (unless it is done).
//! 4. **Decode steps** run back to back while any sequence decodes: a step that
//!    starts at `s` with `n` sequences (everything decoding or waiting to join at
//!    `s`) ends at `s + step(n)` and emits one token to each of those `n`.
//!    A sequence leaves (freeing its slot) after its `max_tokens`-th token.
//! 5. Events at the same instant are processed in this order: the step end, then
//!    prefill ends (earliest admitted first), then admissions, then the next step
//!    starts.
//!
//! Prefill and decode run concurrently (prefill never stalls decode steps).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

use super::timing::BatchParams;

/// Where the tokens of one sequence go.
pub trait SeqSink {
    /// Delivers token `k` (0-based), generated at virtual time `t_ns`.
    /// Returns false when the receiver is gone: the sequence is then dropped.
    fn emit(&mut self, k: u32, t_ns: u64) -> bool;
    /// True when the receiver is gone (checked before admitting the sequence).
    fn is_closed(&self) -> bool;
}

/// One sequence inside the scheduler.
struct Seq<T> {
    sink: T,
    prompt_tokens: u32,
    max_tokens: u32,
    emitted: u32,
    /// Arrival order, to break ties between equal prefill ends.
    order: u64,
}

/// A prefilling sequence, ordered so that `BinaryHeap` pops the earliest end first.
struct Prefill<T> {
    end_ns: u64,
    seq: Seq<T>,
}

impl<T> PartialEq for Prefill<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T> Eq for Prefill<T> {}

impl<T> PartialOrd for Prefill<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T> Ord for Prefill<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: the max-heap then yields the smallest (end, order) first.
        other
            .end_ns
            .cmp(&self.end_ns)
            .then(other.seq.order.cmp(&self.seq.order))
    }
}

/// The batching engine's state (see the module docs for the rules).
pub struct BatchScheduler<T> {
    params: BatchParams,
    now_ns: u64,
    next_order: u64,
    queue: VecDeque<Seq<T>>,
    prefilling: BinaryHeap<Prefill<T>>,
    joining: Vec<Seq<T>>,
    decoding: Vec<Seq<T>>,
    step_end_ns: Option<u64>,
}

impl<T: SeqSink> BatchScheduler<T> {
    /// An idle engine whose virtual clock starts at `start_ns`.
    #[must_use]
    pub fn new(params: BatchParams, start_ns: u64) -> Self {
        BatchScheduler {
            params,
            now_ns: start_ns,
            next_order: 0,
            queue: VecDeque::new(),
            prefilling: BinaryHeap::new(),
            joining: Vec::new(),
            decoding: Vec::new(),
            step_end_ns: None,
        }
    }

    /// The virtual time up to which events have been processed.
    #[must_use]
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// Sequences holding a slot: prefilling, waiting to join, or decoding.
    #[must_use]
    pub fn running(&self) -> usize {
        self.prefilling.len() + self.joining.len() + self.decoding.len()
    }

    /// Sequences waiting in the queue for a slot.
    #[must_use]
    pub fn waiting(&self) -> usize {
        self.queue.len()
    }

    /// Time of the next step end or prefill end, if any.
    #[must_use]
    pub fn next_event_ns(&self) -> Option<u64> {
        let prefill = self.prefilling.peek().map(|p| p.end_ns);
        match (self.step_end_ns, prefill) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// A request arrives at `arrival_ns` (rule 1). Events due up to the arrival
    /// are processed first. Returns the number of tokens emitted meanwhile.
    /// `max_tokens` is taken as at least 1.
    pub fn arrive(&mut self, arrival_ns: u64, prompt_tokens: u32, max_tokens: u32, sink: T) -> u64 {
        let emitted = self.advance(arrival_ns);
        let order = self.next_order;
        self.next_order += 1;
        self.queue.push_back(Seq {
            sink,
            prompt_tokens,
            max_tokens: max_tokens.max(1),
            emitted: 0,
            order,
        });
        self.admit();
        emitted
    }

    /// Processes every event due at or before `until_ns` in time order, then
    /// moves the clock to `until_ns` (never backwards). Returns the number of
    /// tokens emitted.
    pub fn advance(&mut self, until_ns: u64) -> u64 {
        let mut emitted = 0;
        while let Some(t) = self.next_event_ns() {
            if t > until_ns {
                break;
            }
            self.now_ns = self.now_ns.max(t);
            emitted += self.process_events();
        }
        self.now_ns = self.now_ns.max(until_ns);
        emitted
    }

    /// Processes the events due at `self.now_ns` (rule 5).
    fn process_events(&mut self) -> u64 {
        let t = self.now_ns;
        let mut emitted = 0;
        if self.step_end_ns.is_some_and(|end| end <= t) {
            self.step_end_ns = None;
            self.decoding.retain_mut(|seq| {
                if !seq.sink.emit(seq.emitted, t) {
                    return false;
                }
                emitted += 1;
                seq.emitted += 1;
                seq.emitted < seq.max_tokens
            });
        }
        while self.prefilling.peek().is_some_and(|p| p.end_ns <= t) {
            let Some(Prefill { mut seq, .. }) = self.prefilling.pop() else {
                break;
            };
            if seq.sink.emit(0, t) {
                emitted += 1;
                seq.emitted = 1;
                if seq.emitted < seq.max_tokens {
                    self.joining.push(seq);
                }
            }
        }
        self.admit();
        if self.step_end_ns.is_none() && !(self.decoding.is_empty() && self.joining.is_empty()) {
            self.decoding.append(&mut self.joining);
            let active = u32::try_from(self.decoding.len()).unwrap_or(u32::MAX);
            self.step_end_ns = Some(t.saturating_add(self.params.step_duration_ns(active)));
        }
        emitted
    }

    /// Rule 2: fills free slots from the queue at the current time.
    fn admit(&mut self) {
        let max = usize::try_from(self.params.max_batch).unwrap_or(usize::MAX);
        while self.running() < max {
            let Some(seq) = self.queue.pop_front() else {
                break;
            };
            if seq.sink.is_closed() {
                continue;
            }
            let end_ns = self
                .now_ns
                .saturating_add(self.params.prefill_duration_ns(seq.prompt_tokens));
            self.prefilling.push(Prefill { end_ns, seq });
        }
    }
}

/// One request of a workload given to [`simulate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimArrival {
    /// Arrival on the virtual clock (ns).
    pub arrival_ns: u64,
    /// Prompt tokens (prefill cost).
    pub prompt_tokens: u32,
    /// Tokens to generate (at least 1).
    pub max_tokens: u32,
}

/// Runs the batching model on `arrivals` (processed in the given order, which
/// should be by arrival time) and returns, per request, the virtual time of
/// every token.
#[must_use]
pub fn simulate(params: BatchParams, arrivals: &[SimArrival]) -> Vec<Vec<u64>> {
    use std::cell::RefCell;
    use std::rc::Rc;

    struct Recorder {
        index: usize,
        out: Rc<RefCell<Vec<Vec<u64>>>>,
    }

    impl SeqSink for Recorder {
        fn emit(&mut self, _k: u32, t_ns: u64) -> bool {
            if let Some(times) = self.out.borrow_mut().get_mut(self.index) {
                times.push(t_ns);
            }
            true
        }

        fn is_closed(&self) -> bool {
            false
        }
    }

    let out = Rc::new(RefCell::new(vec![Vec::new(); arrivals.len()]));
    let start = arrivals.first().map_or(0, |a| a.arrival_ns);
    let mut scheduler = BatchScheduler::new(params, start);
    for (index, a) in arrivals.iter().enumerate() {
        let sink = Recorder {
            index,
            out: Rc::clone(&out),
        };
        scheduler.arrive(a.arrival_ns, a.prompt_tokens, a.max_tokens, sink);
    }
    scheduler.advance(u64::MAX);
    drop(scheduler);
    Rc::try_unwrap(out).map_or_else(|rc| rc.borrow().clone(), RefCell::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn params(max_batch: u32) -> BatchParams {
        BatchParams {
            ttft_ns: 50 * MS,
            itl_ns: 10 * MS,
            itl_per_seq_ns: 5 * MS,
            prefill_per_token_ns: MS,
            max_batch,
        }
    }

    fn at(arrival_ms: u64, prompt_tokens: u32, max_tokens: u32) -> SimArrival {
        SimArrival {
            arrival_ns: arrival_ms * MS,
            prompt_tokens,
            max_tokens,
        }
    }

    fn ms(times: &[u64]) -> Vec<u64> {
        times.iter().map(|t| t / MS).collect()
    }

    /// Worked by hand from the rules in the module docs:
    /// t=0: A (prefill 50+10) and B (50+20) admitted, C queued (max_batch 2).
    /// t=60: A token 0; step [A] runs 60..70.
    /// t=70: step end → A token 1; B prefill end → B token 0; step [A, B] 70..85.
    /// t=85: A token 2 (done), B token 1 (done); C admitted, prefill 85..135.
    /// t=135: C token 0; step [C] 135..145 → C token 1 (done).
    #[test]
    fn hand_worked_schedule_with_queueing() {
        let got = simulate(params(2), &[at(0, 10, 3), at(0, 20, 2), at(0, 0, 2)]);
        assert_eq!(ms(&got[0]), vec![60, 70, 85]);
        assert_eq!(ms(&got[1]), vec![70, 85]);
        assert_eq!(ms(&got[2]), vec![135, 145]);
    }

    #[test]
    fn single_request_matches_fixed_timing() {
        let p = BatchParams {
            prefill_per_token_ns: 0,
            ..params(4)
        };
        let got = simulate(p, &[at(100, 500, 5)]);
        assert_eq!(ms(&got[0]), vec![150, 160, 170, 180, 190]);
    }

    #[test]
    fn steady_state_gap_is_step_of_active_count() {
        let p = params(8);
        for c in [1_u32, 3, 8] {
            let arrivals: Vec<_> = (0..c).map(|_| at(0, 0, 40)).collect();
            let got = simulate(p, &arrivals);
            let step = p.step_duration_ns(c);
            for times in &got {
                assert_eq!(times.len(), 40);
                assert_eq!(times[0], 50 * MS);
                for w in times.windows(2) {
                    assert_eq!(w[1] - w[0], step, "c={c}");
                }
            }
        }
    }

    #[test]
    fn requests_beyond_max_batch_wait_for_a_slot() {
        let p = params(2);
        let got = simulate(p, &[at(0, 0, 3), at(0, 0, 3), at(0, 0, 3), at(0, 0, 3)]);
        // First two: token 0 at 50, then steps of 15 ms with two active.
        assert_eq!(ms(&got[0]), vec![50, 65, 80]);
        assert_eq!(ms(&got[1]), vec![50, 65, 80]);
        // The other two are admitted at 80 when both slots free.
        assert_eq!(ms(&got[2]), vec![130, 145, 160]);
        assert_eq!(ms(&got[3]), vec![130, 145, 160]);
    }

    #[test]
    fn late_arrival_joins_at_the_next_step_boundary() {
        let p = BatchParams {
            prefill_per_token_ns: 0,
            ..params(8)
        };
        // A decodes from 50 with 10 ms steps: 50, 60, 70, ...
        // B arrives at 3 → prefill ends at 53 (token 0) → joins the step starting at 60.
        let got = simulate(p, &[at(0, 0, 6), at(3, 0, 3)]);
        assert_eq!(ms(&got[0]), vec![50, 60, 75, 90, 100, 110]);
        assert_eq!(ms(&got[1]), vec![53, 75, 90]);
    }

    #[test]
    fn arrival_before_the_clock_is_clamped() {
        let mut s: BatchScheduler<Counter> = BatchScheduler::new(params(4), 0);
        s.advance(1_000 * MS);
        s.arrive(10 * MS, 0, 1, Counter::default());
        assert_eq!(s.next_event_ns(), Some(1_050 * MS));
    }

    #[derive(Default)]
    struct Counter {
        emitted: u32,
        closed_after: Option<u32>,
    }

    impl SeqSink for Counter {
        fn emit(&mut self, _k: u32, _t: u64) -> bool {
            if self.closed_after.is_some_and(|n| self.emitted >= n) {
                return false;
            }
            self.emitted += 1;
            true
        }
        fn is_closed(&self) -> bool {
            self.closed_after == Some(0)
        }
    }

    #[test]
    fn closed_sinks_free_their_slot() {
        let mut s = BatchScheduler::new(params(1), 0);
        // Goes away after 2 tokens, although it asked for 100.
        let quitter = Counter {
            closed_after: Some(2),
            ..Counter::default()
        };
        let gone = Counter {
            closed_after: Some(0),
            ..Counter::default()
        };
        s.arrive(0, 0, 100, quitter);
        s.arrive(0, 0, 1, gone);
        s.arrive(0, 0, 1, Counter::default());
        assert_eq!((s.running(), s.waiting()), (1, 2));
        // Token 0 at 50, token 1 at 60, the emit at 70 fails → slot freed at 70;
        // the closed one is skipped, the third admitted at 70.
        let emitted = s.advance(70 * MS);
        assert_eq!(emitted, 2);
        assert_eq!((s.running(), s.waiting()), (1, 0));
        assert_eq!(s.next_event_ns(), Some(120 * MS));
        assert_eq!(s.advance(u64::MAX), 1);
        assert_eq!(s.running(), 0);
    }
}
