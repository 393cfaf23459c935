//! What a data packet carries: bytes, or a [`Frame`] its sender built and
//! the kernel writes out as bytes only when the receiver reads them.
//!
//! A 1,000-node cluster's PINGs are 12.6 KB of bytes each but a few hundred
//! bytes as the structure their sender built; with time costs on, about a
//! hundred thousand wait at once (to leave a busy sender, or to be read by
//! a busy receiver). Held as frames they take a fifth of the memory, and the
//! receiver still reads exactly the bytes that were sent.

/// A message held as its sender built it. [`Frame::write`] must append the
/// same bytes every time it is called: the kernel writes them once when the
/// frame is sent (for the trace's fingerprint) and once when it is read.
pub trait Frame: std::fmt::Debug {
    /// How many bytes [`Frame::write`] appends.
    fn len(&self) -> usize;

    /// Whether the frame writes no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the frame's bytes to `out`.
    fn write(&self, out: &mut Vec<u8>);
}

/// A packet's or a queued input's data.
#[derive(Debug)]
pub(crate) enum Payload {
    Bytes(Vec<u8>),
    /// A frame and its length, kept beside it: the kernel reads the length
    /// at every step of the packet's way, long after the frame left the cache.
    Frame(Box<dyn Frame>, usize),
}

impl Payload {
    pub(crate) fn frame(frame: Box<dyn Frame>) -> Payload {
        let len = frame.len();
        Payload::Frame(frame, len)
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Payload::Bytes(b) => b.len(),
            Payload::Frame(_, len) => *len,
        }
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Payload {
        Payload::Bytes(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Repeat(u8, usize);

    impl Frame for Repeat {
        fn len(&self) -> usize {
            self.1
        }
        fn write(&self, out: &mut Vec<u8>) {
            out.resize(out.len() + self.1, self.0);
        }
    }

    #[test]
    fn a_payload_is_as_long_as_its_bytes_or_its_frame() {
        assert_eq!(Payload::from(vec![1, 2, 3]).len(), 3);
        assert_eq!(Payload::frame(Box::new(Repeat(7, 12_600))).len(), 12_600);
        assert!(Repeat(0, 0).is_empty());
        // Held as a frame, a payload is a Vec's header and a word.
        assert!(std::mem::size_of::<Payload>() <= 32);
    }
}
