//! A batch of framed messages, and the window of recent ones kept for re-sending.
//!
//! TCP and TLS carry a stream, so each message is framed: with its length in front
//! (octet counting, RFC 6587 and 5425: `123 <134>1 ...`) or with a line feed after it.
//! Over UDP each message is one datagram and needs no frame.

use std::collections::VecDeque;
use std::ops::Range;

use crate::config::SyslogFraming;

/// How messages are separated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// One datagram per message.
    Datagram,
    OctetCounting,
    Newline,
}

impl Framing {
    pub fn for_stream(framing: SyslogFraming) -> Self {
        match framing {
            SyslogFraming::OctetCounting => Framing::OctetCounting,
            SyslogFraming::Newline => Framing::Newline,
        }
    }
}

/// Framed messages in one buffer, written at once on a stream.
#[derive(Debug, Default)]
pub struct Batch {
    pub bytes: Vec<u8>,
    /// Where each framed message lies in `bytes`.
    pub frames: Vec<Range<usize>>,
}

impl Batch {
    pub fn with_capacity(bytes: usize, messages: usize) -> Self {
        Self {
            bytes: Vec::with_capacity(bytes),
            frames: Vec::with_capacity(messages),
        }
    }

    /// Appends one message in its frame.
    pub fn push(&mut self, message: &[u8], framing: Framing) {
        let start = self.bytes.len();
        if framing == Framing::OctetCounting {
            self.bytes
                .extend_from_slice(format!("{} ", message.len()).as_bytes());
        }
        self.bytes.extend_from_slice(message);
        if framing == Framing::Newline {
            self.bytes.push(b'\n');
        }
        self.frames.push(start..self.bytes.len());
    }

    pub fn frame(&self, index: usize) -> &[u8] {
        &self.bytes[self.frames[index].clone()]
    }
}

/// The last framed messages written, up to a byte budget, oldest first.
///
/// TCP acknowledges bytes to the kernel, not to the receiving program: what a receiver
/// had accepted but not yet read when it went down is gone, though every write
/// succeeded. Sending the recent messages again after a reconnect recovers it; the
/// receiver may see those messages twice, each with its event id.
#[derive(Debug)]
pub struct Replay {
    frames: VecDeque<Box<[u8]>>,
    bytes: usize,
    budget: usize,
}

impl Replay {
    pub fn new(budget: usize) -> Self {
        Self {
            frames: VecDeque::new(),
            bytes: 0,
            budget,
        }
    }

    /// Keeps the batch's messages, dropping the oldest ones over the budget.
    pub fn remember(&mut self, batch: &Batch) {
        let mut first = batch.frames.len();
        let mut newest = 0;
        while first > 0 && newest + batch.frames[first - 1].len() <= self.budget {
            first -= 1;
            newest += batch.frames[first].len();
        }
        if first > 0 {
            // Messages of this batch did not fit; anything older is not among the newest.
            self.frames.clear();
            self.bytes = 0;
        }
        for index in first..batch.frames.len() {
            self.frames.push_back(batch.frame(index).into());
        }
        self.bytes += newest;
        while self.bytes > self.budget {
            let Some(oldest) = self.frames.pop_front() else {
                break;
            };
            self.bytes -= oldest.len();
        }
    }

    /// Every kept message, framed, in the order written.
    pub fn contents(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes);
        for frame in &self.frames {
            out.extend_from_slice(frame);
        }
        out
    }

    pub fn len(&self) -> usize {
        self.frames.len()
    }

    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(messages: &[&str], framing: Framing) -> Batch {
        let mut batch = Batch::default();
        for message in messages {
            batch.push(message.as_bytes(), framing);
        }
        batch
    }

    #[test]
    fn octet_counting_puts_the_byte_length_first() {
        let batch = batch(
            &["<134>1 - - - - - - é", "<134>1 x"],
            Framing::OctetCounting,
        );
        assert_eq!(batch.bytes, "21 <134>1 - - - - - - é8 <134>1 x".as_bytes());
        assert_eq!(batch.frame(1), b"8 <134>1 x");
    }

    #[test]
    fn newline_framing_ends_each_message_and_datagrams_are_bare() {
        assert_eq!(batch(&["a", "b"], Framing::Newline).bytes, b"a\nb\n");
        let datagrams = batch(&["a", "b"], Framing::Datagram);
        assert_eq!(
            (datagrams.frame(0), datagrams.frame(1)),
            (&b"a"[..], &b"b"[..])
        );
    }

    #[test]
    fn the_replay_keeps_the_newest_messages_within_its_budget() {
        let mut replay = Replay::new(6);
        replay.remember(&batch(&["aa", "bb"], Framing::Newline));
        assert_eq!(replay.contents(), b"aa\nbb\n");
        replay.remember(&batch(&["cc"], Framing::Newline));
        assert_eq!(replay.contents(), b"bb\ncc\n");
        replay.remember(&batch(&["dd", "ee", "ff"], Framing::Newline));
        assert_eq!(replay.contents(), b"ee\nff\n");
        assert_eq!(replay.len(), 2);
        replay.remember(&batch(&["a message over the budget"], Framing::Newline));
        assert!(replay.is_empty());

        let mut off = Replay::new(0);
        off.remember(&batch(&["aa"], Framing::Newline));
        assert!(off.is_empty());
    }
}
