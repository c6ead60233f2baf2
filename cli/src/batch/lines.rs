//! Reading a file line by line with a bound on what is kept of one line, so that neither a
//! huge file nor a huge line (a file without newlines) is ever held in memory whole.

use std::io::{self, BufRead};

/// How one line ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineEnd {
    /// Ended with `\n` (not cut by the end of the file).
    pub newline: bool,
    /// Longer than the bound: the buffer was left empty.
    pub too_long: bool,
    /// The line's length in bytes, without the `\n`.
    pub len: u64,
}

/// Lines of a reader, numbered from 1.
pub struct Lines<R> {
    reader: R,
    max: usize,
    /// The number of the last line returned.
    pub number: u64,
}

impl<R: BufRead> Lines<R> {
    /// Lines of `reader`, keeping at most `max` bytes of a line.
    pub fn new(reader: R, max: usize) -> Self {
        Lines {
            reader,
            max,
            number: 0,
        }
    }

    /// Reads the next line into `buf` (without `\n` or a `\r` before it); `None` at the end.
    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> io::Result<Option<LineEnd>> {
        buf.clear();
        let mut len = 0u64;
        let mut too_long = false;
        loop {
            let avail = match self.reader.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if avail.is_empty() {
                if len == 0 {
                    return Ok(None);
                }
                self.number += 1;
                self.trim(buf);
                return Ok(Some(LineEnd {
                    newline: false,
                    too_long,
                    len,
                }));
            }
            let (take, newline) = match avail.iter().position(|&b| b == b'\n') {
                Some(i) => (i, true),
                None => (avail.len(), false),
            };
            len += take as u64;
            if !too_long {
                if buf.len() + take > self.max {
                    too_long = true;
                    buf.clear();
                    buf.shrink_to(64 * 1024);
                } else {
                    buf.extend_from_slice(&avail[..take]);
                }
            }
            self.reader.consume(take + usize::from(newline));
            if newline {
                self.number += 1;
                self.trim(buf);
                return Ok(Some(LineEnd {
                    newline: true,
                    too_long,
                    len,
                }));
            }
        }
    }
}

impl<R> Lines<R> {
    /// Drops a `\r` before the `\n`, and a UTF-8 byte order mark before the first line
    /// (files saved by some Windows editors).
    fn trim(&self, buf: &mut Vec<u8>) {
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        if self.number == 1 && buf.starts_with(b"\xEF\xBB\xBF") {
            buf.drain(..3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(data: &[u8], max: usize) -> Vec<(Vec<u8>, LineEnd)> {
        // A tiny buffer, so that lines span many reads.
        let mut l = Lines::new(io::BufReader::with_capacity(3, data), max);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        while let Some(end) = l.next_into(&mut buf).unwrap() {
            out.push((buf.clone(), end));
        }
        assert_eq!(l.number, out.len() as u64);
        out
    }

    #[test]
    fn a_byte_order_mark_is_dropped_from_the_first_line_only() {
        let got = all(b"\xEF\xBB\xBF{}\n\xEF\xBB\xBF{}", 64);
        assert_eq!(got[0].0, b"{}");
        assert_eq!(got[1].0, b"\xEF\xBB\xBF{}");
    }

    #[test]
    fn lines_crlf_torn_and_too_long() {
        let got = all(b"ab\r\n\nlong line here\nlast", 8);
        let texts: Vec<&[u8]> = got.iter().map(|(b, _)| b.as_slice()).collect();
        assert_eq!(texts, [&b"ab"[..], b"", b"", b"last"]);
        assert!(got[0].1.newline && !got[0].1.too_long);
        assert_eq!(got[0].1.len, 3, "the \\r counts in the length on disk");
        assert!(got[2].1.too_long);
        assert_eq!(got[2].1.len, 14);
        assert!(!got[3].1.newline, "the last line has no newline");
        assert!(all(b"", 8).is_empty());
    }
}
