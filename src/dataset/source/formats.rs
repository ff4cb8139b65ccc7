//! Readers of txt, JSON, JSONL and CSV files, each bounded in bytes per line
//! and per file.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use super::{
    read_err, Bounded, Cell, Columns, RawRow, RawTable, MAX_LINE_BYTES, MAX_STREAM_BYTES,
    MAX_TEXT_BYTES, MAX_WHOLE_FILE_BYTES,
};
use crate::dataset::DatasetError;

/// Reads a file parsed whole (`.json`), at most [`MAX_WHOLE_FILE_BYTES`] read.
fn read_to_string(path: &Path) -> Result<String, DatasetError> {
    use std::io::Read;
    let too_big = || {
        read_err(
            path,
            format!(
                "the file is over the {} MiB limit for .json datasets (they are parsed whole); \
                 convert it to .jsonl or .parquet, which are read row by row",
                MAX_WHOLE_FILE_BYTES >> 20
            ),
        )
    };
    if std::fs::metadata(path).is_ok_and(|m| m.len() > MAX_WHOLE_FILE_BYTES) {
        return Err(too_big());
    }
    let file = File::open(path).map_err(|e| read_err(path, format!("cannot open: {e}")))?;
    let mut bytes = Vec::new();
    Bounded::new(file, MAX_WHOLE_FILE_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::Other {
                too_big()
            } else {
                read_err(path, format!("cannot read: {e}"))
            }
        })?;
    String::from_utf8(bytes).map_err(|e| {
        read_err(
            path,
            format!("not valid UTF-8 (byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

/// One line from [`read_line_limited`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line {
    /// The line's bytes, without the line end (`\n` or `\r\n`).
    Text(Vec<u8>),
    /// The line was longer than the limit; it was read past and dropped.
    TooLong,
    /// End of input.
    Eof,
}

/// Reads the next line of at most `max` bytes; a longer line is consumed in
/// pieces and dropped, so memory stays bounded by `max` whatever the input.
pub(super) fn read_line_limited<R: BufRead>(r: &mut R, max: usize) -> std::io::Result<Line> {
    let mut buf = Vec::new();
    let mut too_long = false;
    let mut any = false;
    loop {
        let available = r.fill_buf()?;
        if available.is_empty() {
            break;
        }
        any = true;
        let (piece, used, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (&available[..i], i + 1, true),
            None => (available, available.len(), false),
        };
        if !too_long {
            if buf.len() + piece.len() > max {
                too_long = true;
                buf = Vec::new();
            } else {
                buf.extend_from_slice(piece);
            }
        }
        r.consume(used);
        if done {
            break;
        }
    }
    Ok(if !any {
        Line::Eof
    } else if too_long {
        Line::TooLong
    } else {
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
        Line::Text(buf)
    })
}

fn open_lines(path: &Path, limit: u64) -> Result<BufReader<Bounded<File>>, DatasetError> {
    let file = File::open(path).map_err(|e| read_err(path, format!("cannot open: {e}")))?;
    Ok(BufReader::new(Bounded::new(file, limit)))
}

/// A read error, telling the stream limit apart from other I/O errors.
fn stream_err(path: &Path, what: &str, e: &std::io::Error) -> DatasetError {
    if e.kind() == std::io::ErrorKind::Other && e.to_string().starts_with("more than") {
        read_err(
            path,
            format!(
                "read {e} without reaching the end of the file; set the dataset's max_rows, or convert it to .parquet"
            ),
        )
    } else {
        read_err(path, format!("cannot read {what}: {e}"))
    }
}

fn line_text(path: &Path, n: usize, bytes: Vec<u8>) -> Result<String, DatasetError> {
    String::from_utf8(bytes).map_err(|e| {
        read_err(
            path,
            format!(
                "line {}: not valid UTF-8 (byte {})",
                n + 1,
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

/// Reads a text file, one prompt per non-empty line (trimmed). Lines over
/// [`MAX_TEXT_BYTES`] are skipped while reading, and count toward `max_rows`.
pub(super) fn read_txt(path: &Path, max_rows: Option<usize>) -> Result<RawTable, DatasetError> {
    read_txt_limited(path, max_rows, MAX_STREAM_BYTES)
}

/// [`read_txt`] reading at most `limit` bytes.
pub(super) fn read_txt_limited(
    path: &Path,
    max_rows: Option<usize>,
    limit: u64,
) -> Result<RawTable, DatasetError> {
    let mut reader = open_lines(path, limit)?;
    let limit = max_rows.unwrap_or(usize::MAX);
    let mut table = RawTable::default();
    let mut n = 0;
    while table.rows.len() + table.oversize < limit {
        let line = read_line_limited(&mut reader, MAX_TEXT_BYTES)
            .map_err(|e| stream_err(path, &format!("line {}", n + 1), &e))?;
        match line {
            Line::Eof => break,
            Line::TooLong => table.oversize += 1,
            Line::Text(bytes) => {
                let text = line_text(path, n, bytes)?;
                let text = text.trim();
                if !text.is_empty() {
                    table.rows.push(RawRow::Bare(text.to_string()));
                }
            }
        }
        n += 1;
    }
    Ok(table)
}

/// Objects and strings of a JSON list → a table.
struct ItemCollector<'a> {
    cols: &'a Columns,
    table: RawTable,
}

impl<'a> ItemCollector<'a> {
    pub(super) fn new(cols: &'a Columns) -> Self {
        let n = cols.requested().len();
        ItemCollector {
            cols,
            table: RawTable {
                present: vec![false; n],
                ..RawTable::default()
            },
        }
    }

    pub(super) fn push(&mut self, item: &serde_json::Value) {
        match item {
            serde_json::Value::String(s) => self.table.rows.push(RawRow::Bare(s.clone())),
            serde_json::Value::Object(obj) => {
                for k in obj.keys() {
                    if !self.table.available.contains(k) {
                        self.table.available.push(k.clone());
                    }
                }
                let fields = self
                    .cols
                    .requested()
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        obj.get(*c).map(|v| {
                            self.table.present[i] = true;
                            Cell::from_json(v)
                        })
                    })
                    .collect();
                self.table.rows.push(RawRow::Fields(fields));
            }
            // Numbers, lists and nulls at the top level are not rows.
            _ => {}
        }
    }
}

pub(super) fn read_json(
    path: &Path,
    cols: &Columns,
    max_rows: Option<usize>,
) -> Result<RawTable, DatasetError> {
    let text = read_to_string(path)?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        read_err(
            path,
            format!(
                "invalid JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    let serde_json::Value::Array(items) = value else {
        return Err(read_err(
            path,
            "the top level of a .json dataset must be a list of objects or strings (use .jsonl for one object per line)",
        ));
    };
    let mut c = ItemCollector::new(cols);
    for item in items.iter().take(max_rows.unwrap_or(usize::MAX)) {
        c.push(item);
    }
    Ok(c.table)
}

pub(super) fn read_jsonl(
    path: &Path,
    cols: &Columns,
    max_rows: Option<usize>,
) -> Result<RawTable, DatasetError> {
    read_jsonl_limited(path, cols, max_rows, MAX_LINE_BYTES, MAX_STREAM_BYTES)
}

/// [`read_jsonl`] with lines of at most `max_line` bytes, reading at most `limit` bytes.
pub(super) fn read_jsonl_limited(
    path: &Path,
    cols: &Columns,
    max_rows: Option<usize>,
    max_line: usize,
    limit: u64,
) -> Result<RawTable, DatasetError> {
    let mut reader = open_lines(path, limit)?;
    let mut c = ItemCollector::new(cols);
    let limit = max_rows.unwrap_or(usize::MAX);
    let mut n = 0;
    while c.table.rows.len() < limit {
        let line = read_line_limited(&mut reader, max_line)
            .map_err(|e| stream_err(path, &format!("line {}", n + 1), &e))?;
        match line {
            Line::Eof => break,
            Line::TooLong => c.table.oversize += 1,
            Line::Text(bytes) => {
                let line = line_text(path, n, bytes)?;
                if !line.trim().is_empty() {
                    let v: serde_json::Value = serde_json::from_str(&line).map_err(|e| {
                        read_err(path, format!("line {}: invalid JSON: {e}", n + 1))
                    })?;
                    c.push(&v);
                }
            }
        }
        n += 1;
    }
    Ok(c.table)
}

/// The CSV delimiter: the dataset's `delimiter`, else tab for `.tsv` files and
/// `,` otherwise. It must be one ASCII character other than `"`, CR and LF.
pub(super) fn csv_delimiter(path: &Path, delimiter: Option<char>) -> Result<u8, DatasetError> {
    let c = delimiter.unwrap_or_else(|| {
        let tsv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
        if tsv {
            '\t'
        } else {
            ','
        }
    });
    match u8::try_from(c) {
        Ok(b) if b.is_ascii() && !matches!(b, b'"' | b'\r' | b'\n') => Ok(b),
        _ => Err(read_err(
            path,
            format!("delimiter {c:?} is not one ASCII character other than a quote or a line end"),
        )),
    }
}

/// Reads a CSV file (module docs), at most `limit` bytes.
pub(super) fn read_csv(
    path: &Path,
    delimiter: u8,
    cols: &Columns,
    max_rows: Option<usize>,
    limit: u64,
) -> Result<RawTable, DatasetError> {
    let file = File::open(path).map_err(|e| read_err(path, format!("cannot open: {e}")))?;
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(true)
        .from_reader(BufReader::new(Bounded::new(file, limit)));
    let csv_err = |e: csv::Error| {
        let line = e.position().map(csv::Position::line);
        match e.into_kind() {
            csv::ErrorKind::Io(io) => stream_err(path, "the file", &io),
            csv::ErrorKind::Utf8 { err, .. } => read_err(
                path,
                format!(
                    "line {}: field {} is not valid UTF-8",
                    line.unwrap_or(0),
                    err.field() + 1
                ),
            ),
            other => read_err(path, format!("line {}: {other:?}", line.unwrap_or(0))),
        }
    };
    let header: Vec<String> = reader
        .headers()
        .map_err(csv_err)?
        .iter()
        .map(str::to_owned)
        .collect();
    let requested = cols.requested();
    let idx: Vec<Option<usize>> = requested
        .iter()
        .map(|c| header.iter().position(|h| h == c))
        .collect();
    let mut rows = Vec::new();
    let limit = max_rows.unwrap_or(usize::MAX);
    let mut record = csv::StringRecord::new();
    while rows.len() < limit && reader.read_record(&mut record).map_err(csv_err)? {
        if record.len() == 1 && record.get(0).is_some_and(str::is_empty) {
            continue;
        }
        rows.push(RawRow::Fields(
            idx.iter()
                .map(|i| {
                    i.and_then(|i| record.get(i))
                        .map(|s| Cell::Str(s.to_owned()))
                })
                .collect(),
        ));
    }
    Ok(RawTable {
        present: idx.iter().map(Option::is_some).collect(),
        available: header,
        rows,
        oversize: 0,
    })
}
