//! `log … sample`: which lines a sampled target takes (haproxy's process_send_log).
//! Each proxy's copy of a target walks its own cycle of line numbers; the progress
//! through each range is the `log` line's, shared by its copies, as haproxy's copies
//! share the line's range array.

use std::collections::HashMap;

use crate::ir::LogSample;

/// The sampling state of every sampled target.
#[derive(Debug, Default)]
pub(super) struct Sampling {
    /// Per copy: its place in the cycle, and the range it is in.
    copies: HashMap<u64, (u32, usize)>,
    /// Per `log` line: how far each of its ranges was taken.
    lines: HashMap<u64, Vec<u32>>,
}

impl Sampling {
    /// Whether the next line of copy `copy` of a target sampled by `s` is sent.
    pub(super) fn take(&mut self, copy: u64, s: &LogSample) -> bool {
        let (idx, rg) = self.copies.entry(copy).or_default();
        let taken = self
            .lines
            .entry(s.origin)
            .or_insert_with(|| vec![0; s.ranges.len()]);
        let (low, high) = s.ranges[*rg];
        let n = *idx + 1;
        let inside = n >= low && n <= high;
        if inside {
            // This range is consumed once each of its lines went: the next one's turn.
            taken[*rg] = (taken[*rg] + 1) % (high - low + 1);
            if taken[*rg] == 0 {
                *rg = (*rg + 1) % s.ranges.len();
            }
        }
        *idx = (*idx + 1) % s.size;
        inside
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_within_the_ranges_go() {
        let s = LogSample {
            ranges: vec![(1, 2), (5, 5)],
            size: 6,
            origin: 1,
        };
        let mut st = Sampling::default();
        let sent: Vec<usize> = (1..=12).filter(|_| st.take(9, &s)).collect();
        assert_eq!(sent, [1, 2, 5, 7, 8, 11]);
    }
}
