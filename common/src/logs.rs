//! Log lines written off the request path: each line is formatted where it happens and
//! handed to one writer thread, which wakes for the first line after a quiet spell, lets
//! lines gather for `GATHER` (2 ms), then writes what has piled up to stderr in one `write`.
//! Nothing is dropped: when the writer falls `QUEUE` (8,192) lines behind, whoever logs
//! waits for it. [`Flush`] waits until every line so far is out.

use std::io::Write;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

enum Message {
    Line(Vec<u8>),
    /// Answered once every line before it is written.
    Flush(SyncSender<()>),
}

/// Makes the writer of each log line; see the module docs.
#[derive(Clone, Debug)]
pub struct Lines {
    to_writer: SyncSender<Message>,
}

/// Waits for the lines written so far to reach stderr.
#[derive(Clone, Debug)]
pub struct Flush {
    to_writer: SyncSender<Message>,
}

impl Flush {
    /// Waits up to `within` for every line so far to be written.
    pub fn flush(&self, within: Duration) {
        let (done, wait) = sync_channel(1);
        if self.to_writer.send(Message::Flush(done)).is_ok() {
            let _ = wait.recv_timeout(within);
        }
    }
}

/// Starts the writer thread over `out` (stderr in services); answers the line maker and
/// its flush.
pub fn start(out: impl Write + Send + 'static) -> (Lines, Flush) {
    let (to_writer, lines) = sync_channel(QUEUE);
    let _ = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_lines(&lines, out));
    (
        Lines {
            to_writer: to_writer.clone(),
        },
        Flush { to_writer },
    )
}

/// How many lines may wait for the writer. Its slots are allocated and stamped when the
/// queue is made, so all of them are resident from the start (256 KiB); 2,048 would save
/// three quarters of that, but under the hop's saturating load, with the writer sharing one
/// core with the service's runtimes, loggers then found it full and waited: a fifth fewer
/// calls answered and a p50 of 10 ms instead of 2 (docs/performance.md).
const QUEUE: usize = 8192;

/// How long the writer lets lines pile up after the first of a quiet spell, so a busy
/// service writes a few hundred times a second, whatever its request rate, and nobody who
/// logs ever has to wake the writer while it gathers.
const GATHER: Duration = Duration::from_millis(2);

fn write_lines(lines: &Receiver<Message>, out: impl Write) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    while let Ok(first) = lines.recv() {
        std::thread::sleep(GATHER);
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Line(line) => {
                    let _ = out.write_all(&line);
                }
                Message::Flush(done) => {
                    let _ = out.flush();
                    let _ = done.send(());
                }
            }
            next = lines.try_recv().ok();
        }
        let _ = out.flush();
    }
}

/// One line being formatted; handed to the writer when the formatter drops it.
#[derive(Debug)]
pub struct Line {
    buffer: Vec<u8>,
    to_writer: SyncSender<Message>,
}

impl Write for Line {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if !self.buffer.is_empty() {
            let _ = self
                .to_writer
                .send(Message::Line(std::mem::take(&mut self.buffer)));
        }
    }
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Line;

    fn make_writer(&'a self) -> Self::Writer {
        Line {
            buffer: Vec::with_capacity(256),
            to_writer: self.to_writer.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_line_arrives_whole_and_in_order_by_the_flush() {
        let out = Shared::default();
        let (lines, flush) = start(out.clone());
        for n in 0..20_000 {
            let mut line = lines.make_writer();
            write!(line, "line {n}").unwrap();
            line.write_all(b"\n").unwrap();
        }
        flush.flush(Duration::from_secs(10));
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let got: Vec<&str> = text.lines().collect();
        assert_eq!(got.len(), 20_000, "none dropped past the queue's {QUEUE}");
        assert!(
            got.iter()
                .enumerate()
                .all(|(n, l)| *l == format!("line {n}"))
        );
    }
}
