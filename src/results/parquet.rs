//! Reading the Parquet files of a results directory back: `requests.parquet`
//! into [`RequestRecord`]s ([`read_records`]) and `server_metrics.parquet` into
//! [`ServerMetricSample`]s ([`read_samples`]). The Parquet sinks
//! (`crate::sink::parquet`, `crate::sink::server_metrics`) write them and
//! document their columns.
//!
//! Only the record columns of `requests.parquet` are read (the derived metric
//! columns are ignored; `connect_ms`, `sent_ns` and `reconnects`, added
//! later, read as null, null and 0 from files that lack them); `chunk_ns` comes back as `start_ns + round(chunk_ms·10⁶)`,
//! exact for offsets below about 26 days. The `point_id` column of
//! `server_metrics.parquet` is ignored. Errors name the file and the column.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, UInt16Type, UInt32Type, UInt64Type};
use arrow_array::{
    Array, ArrayRef, BooleanArray, ListArray, PrimitiveArray, RecordBatch, StringArray,
};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::error::ResultsError;
use super::model::ServerMetricSample;
use crate::record::{Outcome, RequestRecord, TimeoutKind, TokenSource};

/// Rows per Arrow record batch read.
const BATCH_ROWS: usize = 8192;

/// Typed access to the columns of one batch, with errors that name the file and column.
struct BatchReader<'a> {
    batch: &'a RecordBatch,
    path: &'a Path,
}

impl BatchReader<'_> {
    fn err(&self, message: String) -> ResultsError {
        ResultsError::read(self.path, message)
    }

    fn column(&self, name: &str) -> Result<&ArrayRef, ResultsError> {
        self.batch.column_by_name(name).ok_or_else(|| {
            self.err(format!(
                "column `{name}` is missing; was this file written by tokenomics?"
            ))
        })
    }

    fn primitive<T: arrow_array::ArrowPrimitiveType>(
        &self,
        name: &str,
    ) -> Result<&PrimitiveArray<T>, ResultsError> {
        let col = self.column(name)?;
        col.as_primitive_opt::<T>().ok_or_else(|| {
            self.err(format!(
                "column `{name}` has type {}, expected {}",
                col.data_type(),
                T::DATA_TYPE
            ))
        })
    }

    /// Like [`BatchReader::primitive`], but a missing column is `None` (columns
    /// added after the format's first version).
    fn primitive_if_present<T: arrow_array::ArrowPrimitiveType>(
        &self,
        name: &str,
    ) -> Result<Option<&PrimitiveArray<T>>, ResultsError> {
        if self.batch.column_by_name(name).is_none() {
            return Ok(None);
        }
        self.primitive::<T>(name).map(Some)
    }

    fn string(&self, name: &str) -> Result<&StringArray, ResultsError> {
        let col = self.column(name)?;
        col.as_string_opt::<i32>().ok_or_else(|| {
            self.err(format!(
                "column `{name}` has type {}, expected Utf8",
                col.data_type()
            ))
        })
    }

    fn boolean(&self, name: &str) -> Result<&BooleanArray, ResultsError> {
        let col = self.column(name)?;
        col.as_boolean_opt().ok_or_else(|| {
            self.err(format!(
                "column `{name}` has type {}, expected Boolean",
                col.data_type()
            ))
        })
    }

    fn list(&self, name: &str) -> Result<&ListArray, ResultsError> {
        let col = self.column(name)?;
        col.as_list_opt::<i32>().ok_or_else(|| {
            self.err(format!(
                "column `{name}` has type {}, expected List<Float64>",
                col.data_type()
            ))
        })
    }
}

/// The value at `i`, None when null.
fn opt<T: arrow_array::ArrowPrimitiveType>(a: &PrimitiveArray<T>, i: usize) -> Option<T::Native> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// The string at `i`, None when null.
fn opt_str(a: &StringArray, i: usize) -> Option<String> {
    (!a.is_null(i)).then(|| a.value(i).to_string())
}

/// Parses a token source name written by [`TokenSource::as_str`].
fn token_source(name: &str) -> Option<TokenSource> {
    [
        TokenSource::Usage,
        TokenSource::Tokenizer,
        TokenSource::ChunkCount,
        TokenSource::Estimate,
        TokenSource::Target,
        TokenSource::None,
    ]
    .into_iter()
    .find(|s| s.as_str() == name)
}

/// Parses a timeout kind name written by [`TimeoutKind::as_str`].
fn timeout_kind(name: &str) -> Option<TimeoutKind> {
    [
        TimeoutKind::Connect,
        TimeoutKind::FirstByte,
        TimeoutKind::Idle,
        TimeoutKind::Total,
    ]
    .into_iter()
    .find(|k| k.as_str() == name)
}

/// Reads the records of one batch.
#[allow(clippy::too_many_lines)]
fn read_batch(b: &BatchReader<'_>, out: &mut Vec<RequestRecord>) -> Result<(), ResultsError> {
    let u32c = |n: &str| b.primitive::<UInt32Type>(n);
    let u64c = |n: &str| b.primitive::<UInt64Type>(n);
    let (point_index, run_index, request_index, attempt, turn) = (
        u32c("point_index")?,
        u32c("run_index")?,
        u32c("request_index")?,
        u32c("attempt")?,
        u32c("turn")?,
    );
    let (point_id, request_id, model, lora) = (
        b.string("point_id")?,
        b.string("request_id")?,
        b.string("model")?,
        b.string("lora")?,
    );
    let warmup = b.boolean("warmup")?;
    let (conversation, prefix_group) = (u32c("conversation")?, u32c("prefix_group")?);
    let (
        scheduled,
        dispatch,
        start,
        first_byte,
        first_chunk,
        first_token,
        first_output,
        last_token,
        end,
    ) = (
        u64c("scheduled_ns")?,
        u64c("dispatch_ns")?,
        u64c("start_ns")?,
        u64c("first_byte_ns")?,
        u64c("first_chunk_ns")?,
        u64c("first_token_ns")?,
        u64c("first_output_ns")?,
        u64c("last_token_ns")?,
        u64c("end_ns")?,
    );
    let chunk_ms = b.list("chunk_ms")?;
    let events = u32c("events")?;
    let (outcome, timeout, error) = (
        b.string("outcome")?,
        b.string("timeout_kind")?,
        b.string("error")?,
    );
    let http_status = b.primitive::<UInt16Type>("http_status")?;
    let retry_after = b.primitive::<Float64Type>("retry_after_s")?;
    let malformed = u32c("malformed_events")?;
    let connect = b.primitive_if_present::<Float64Type>("connect_ms")?;
    let sent = b.primitive_if_present::<UInt64Type>("sent_ns")?;
    let reconnects = b.primitive_if_present::<UInt32Type>("reconnects")?;
    let (t_in, built_in, t_out, max_tokens, s_in, s_out, c_out) = (
        u32c("target_input_tokens")?,
        u32c("built_input_tokens")?,
        u32c("target_output_tokens")?,
        u32c("max_tokens")?,
        u32c("server_input_tokens")?,
        u32c("server_output_tokens")?,
        u32c("client_output_tokens")?,
    );
    let (input, output) = (u32c("input_tokens")?, u32c("output_tokens")?);
    let (in_src, out_src) = (
        b.string("input_token_source")?,
        b.string("output_token_source")?,
    );
    let (reasoning, cached) = (u32c("reasoning_tokens")?, u32c("cached_tokens")?);
    let server_prefill = b.primitive_if_present::<Float64Type>("server_prefill_ms")?;
    let server_decode = b.primitive_if_present::<Float64Type>("server_decode_ms")?;
    let server_cached = b.primitive_if_present::<UInt32Type>("server_cached_tokens")?;
    let usage_note = if b.batch.column_by_name("usage_note").is_some() {
        Some(b.string("usage_note")?)
    } else {
        None
    };
    let finish = b.string("finish_reason")?;
    let (n, chars, items, items_ret) = (
        u32c("n")?,
        u32c("output_chars")?,
        u32c("items")?,
        u32c("items_returned")?,
    );
    let dim = u32c("embedding_dim")?;

    for i in 0..b.batch.num_rows() {
        let outcome_name = outcome.value(i);
        let outcome = Outcome::from_name(outcome_name)
            .ok_or_else(|| b.err(format!("row {i}: unknown outcome `{outcome_name}`")))?;
        let source = |a: &StringArray| {
            let name = a.value(i);
            token_source(name)
                .ok_or_else(|| b.err(format!("row {i}: unknown token source `{name}`")))
        };
        let timeout_kind = match opt_str(timeout, i) {
            Some(name) => Some(
                timeout_kind(&name)
                    .ok_or_else(|| b.err(format!("row {i}: unknown timeout kind `{name}`")))?,
            ),
            None => None,
        };
        let start_ns = start.value(i);
        let chunks = chunk_ms.value(i);
        let chunks = chunks
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| b.err("column `chunk_ms` does not hold Float64 values".into()))?;
        // chunk_ns = start + round(offset_ms · 10⁶)
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let chunk_ns = chunks
            .values()
            .iter()
            .map(|&m| start_ns.saturating_add((m * 1e6).round().max(0.0) as u64))
            .collect();
        out.push(RequestRecord {
            point_index: point_index.value(i),
            point_id: point_id.value(i).to_string(),
            run_index: run_index.value(i),
            request_index: request_index.value(i),
            attempt: attempt.value(i),
            request_id: request_id.value(i).to_string(),
            warmup: warmup.value(i),
            turn: turn.value(i),
            conversation: opt(conversation, i),
            prefix_group: opt(prefix_group, i),
            model: model.value(i).to_string(),
            lora: opt_str(lora, i),
            scheduled_ns: opt(scheduled, i),
            dispatch_ns: dispatch.value(i),
            start_ns,
            connect_ms: connect.and_then(|a| opt(a, i)),
            sent_ns: sent.and_then(|a| opt(a, i)),
            first_byte_ns: opt(first_byte, i),
            first_chunk_ns: opt(first_chunk, i),
            first_token_ns: opt(first_token, i),
            first_output_ns: opt(first_output, i),
            last_token_ns: opt(last_token, i),
            end_ns: end.value(i),
            chunk_ns,
            events: events.value(i),
            outcome,
            timeout_kind,
            http_status: opt(http_status, i),
            error: opt_str(error, i),
            retry_after_s: opt(retry_after, i),
            malformed_events: malformed.value(i),
            reconnects: reconnects.map_or(0, |a| a.value(i)),
            target_input_tokens: opt(t_in, i),
            built_input_tokens: opt(built_in, i),
            target_output_tokens: opt(t_out, i),
            max_tokens: opt(max_tokens, i),
            server_input_tokens: opt(s_in, i),
            server_output_tokens: opt(s_out, i),
            client_output_tokens: opt(c_out, i),
            usage_note: usage_note.and_then(|a| opt_str(a, i)),
            input_tokens: input.value(i),
            output_tokens: output.value(i),
            input_token_source: source(in_src)?,
            output_token_source: source(out_src)?,
            reasoning_tokens: opt(reasoning, i),
            cached_tokens: opt(cached, i),
            server_prefill_ms: server_prefill.and_then(|a| opt(a, i)),
            server_decode_ms: server_decode.and_then(|a| opt(a, i)),
            server_cached_tokens: server_cached.and_then(|a| opt(a, i)),
            finish_reason: opt_str(finish, i),
            n: n.value(i),
            output_chars: chars.value(i),
            items: items.value(i),
            items_returned: items_ret.value(i),
            embedding_dim: opt(dim, i),
        });
    }
    Ok(())
}

/// The record batches of the Parquet file at `path`.
fn open_batches(path: &Path) -> Result<ParquetRecordBatchReader, ResultsError> {
    let decode = |e: &dyn std::fmt::Display| ResultsError::read(path, e);
    let file = File::open(path).map_err(|e| decode(&e))?;
    ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| decode(&e))?
        .with_batch_size(BATCH_ROWS)
        .build()
        .map_err(|e| decode(&e))
}

/// Reads a `requests.parquet` back into records.
///
/// # Errors
/// When the file cannot be opened, is not Parquet, or lacks a column; the error names `path`.
pub fn read_records(path: &Path) -> Result<Vec<RequestRecord>, ResultsError> {
    let mut out = Vec::new();
    for batch in open_batches(path)? {
        let batch = batch.map_err(|e| ResultsError::read(path, e))?;
        read_batch(
            &BatchReader {
                batch: &batch,
                path,
            },
            &mut out,
        )?;
    }
    Ok(out)
}

/// Reads a `server_metrics.parquet` back into samples.
///
/// # Errors
/// When the file cannot be opened, is not Parquet, or lacks a column of the
/// expected type; the error names `path` and the column.
pub fn read_samples(path: &Path) -> Result<Vec<ServerMetricSample>, ResultsError> {
    let mut out = Vec::new();
    for batch in open_batches(path)? {
        let batch = batch.map_err(|e| ResultsError::read(path, e))?;
        let b = BatchReader {
            batch: &batch,
            path,
        };
        let u32c = |n: &str| b.primitive::<UInt32Type>(n);
        let f64c = |n: &str| b.primitive::<Float64Type>(n);
        let (point, run) = (u32c("point_index")?, u32c("run_index")?);
        let (t_ms, value) = (f64c("t_ms")?, f64c("value")?);
        let (endpoint, metric, raw) = (
            b.string("endpoint")?,
            b.string("metric")?,
            b.string("raw_name")?,
        );
        for i in 0..batch.num_rows() {
            if [endpoint, metric, raw].iter().any(|a| a.is_null(i)) {
                return Err(b.err(format!(
                    "row {i}: `endpoint`, `metric` and `raw_name` must not be null"
                )));
            }
            out.push(ServerMetricSample {
                endpoint: endpoint.value(i).to_string(),
                point_index: point.value(i),
                run_index: run.value(i),
                t_ms: t_ms.value(i),
                name: metric.value(i).to_string(),
                raw_name: raw.value(i).to_string(),
                value: value.value(i),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_are_not_parquet_or_missing_are_errors_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let bogus = dir.path().join("bogus.parquet");
        std::fs::write(&bogus, b"not parquet").unwrap();
        for err in [
            read_records(&bogus).unwrap_err(),
            read_samples(&bogus).unwrap_err(),
            read_records(&dir.path().join("missing.parquet")).unwrap_err(),
        ] {
            let text = err.to_string();
            assert!(text.starts_with("failed to read `"), "{text}");
            assert!(text.contains(".parquet`"), "{text}");
        }
    }
}
