//! `requests.parquet`: one row per [`RequestRecord`], measured and warmup.
//!
//! Conventions: **timestamps** are `*_ns` UInt64 columns, nanoseconds since the
//! run's `t0` on the monotonic clock, exactly as in the record (lossless);
//! **durations** and derived metrics are `*_ms` Float64 columns; rates are
//! tokens per second (`*_tps`). Enumerations are snake_case strings. A
//! nullable column is null where the record has `None` (or the metric is
//! undefined, see [`crate::metrics::request`]). Zstd compression.
//!
//! | column | type | null? | meaning |
//! |---|---|---|---|
//! | `point_index` | UInt32 | no | index of the point in the plan |
//! | `point_id` | Utf8 | no | stable id of the point |
//! | `run_index` | UInt32 | no | repetition (warmups: the run they precede) |
//! | `request_index` | UInt32 | no | index within the run (schedule order) |
//! | `attempt` | UInt32 | no | 1, then retries count up |
//! | `request_id` | Utf8 | no | `x-request-id` sent |
//! | `warmup` | Boolean | no | warmup requests are excluded from every metric |
//! | `turn` | UInt32 | no | turn within a conversation (0 single-turn) |
//! | `conversation` | UInt32 | yes | conversation id |
//! | `prefix_group` | UInt32 | yes | shared-prefix group |
//! | `model` | Utf8 | no | `model` field sent |
//! | `lora` | Utf8 | yes | LoRA adapter |
//! | `scheduled_ns` | UInt64 | yes | scheduled send time (open loop) |
//! | `dispatch_ns` | UInt64 | no | due and waiting for a client slot |
//! | `start_ns` | UInt64 | no | handed to the HTTP stack |
//! | `connect_ms` | Float64 | yes | DNS + TCP + TLS time of the connection this request opened (null: it used an open one) |
//! | `sent_ns` | UInt64 | yes | request's last byte handed to the kernel (null: never written in full) |
//! | `first_byte_ns` | UInt64 | yes | response headers |
//! | `first_chunk_ns` | UInt64 | yes | first SSE event of any kind |
//! | `first_token_ns` | UInt64 | yes | first content event (TTFT) |
//! | `first_output_ns` | UInt64 | yes | first output (non-reasoning) event (TTFO) |
//! | `last_token_ns` | UInt64 | yes | last content event |
//! | `end_ns` | UInt64 | no | request finished |
//! | `chunk_ms` | `List<Float64>` | no | every content event's arrival, ms after `start_ns` |
//! | `events` | UInt32 | no | SSE events received |
//! | `outcome` | Utf8 | no | `ok`, `http_error`, `rate_limited`, `timeout`, … |
//! | `timeout_kind` | Utf8 | yes | `connect`, `first_byte`, `idle`, `total` |
//! | `http_status` | UInt16 | yes | HTTP status |
//! | `error` | Utf8 | yes | cause of a failure |
//! | `retry_after_s` | Float64 | yes | Retry-After of a 429 (s) |
//! | `malformed_events` | UInt32 | no | events that were not valid JSON |
//! | `reconnects` | UInt32 | no | re-sends on a fresh connection after a pooled one closed unanswered (0 or 1) |
//! | `target_input_tokens` | UInt32 | yes | scenario's target input length |
//! | `built_input_tokens` | UInt32 | yes | built prompt's length |
//! | `target_output_tokens` | UInt32 | yes | scenario's target output length |
//! | `max_tokens` | UInt32 | yes | `max_tokens` sent |
//! | `server_input_tokens` | UInt32 | yes | `usage.prompt_tokens` |
//! | `server_output_tokens` | UInt32 | yes | `usage.completion_tokens` |
//! | `usage_note` | Utf8 | yes | the server's usage as written, when it cannot be right (negative, fractional, enormous, or more completion tokens than allowed); the headline counts then come from the client |
//! | `client_output_tokens` | UInt32 | yes | client tokenizer's count |
//! | `input_tokens` | UInt32 | no | headline input count |
//! | `output_tokens` | UInt32 | no | headline output count |
//! | `input_token_source` | Utf8 | no | `usage`, `tokenizer`, `chunk_count`, `estimate`, `target`, `none` |
//! | `output_token_source` | Utf8 | no | as above |
//! | `reasoning_tokens` | UInt32 | yes | server-reported reasoning tokens |
//! | `cached_tokens` | UInt32 | yes | server-reported cached prompt tokens |
//! | `server_prefill_ms` | Float64 | yes | the server's own prompt-processing time (llama.cpp `timings.prompt_ms`) |
//! | `server_decode_ms` | Float64 | yes | the server's own generation time after the first token (llama.cpp `timings.predicted_ms`) |
//! | `server_cached_tokens` | UInt32 | yes | prompt tokens the server reused from its cache (llama.cpp `timings.cache_n`) |
//! | `finish_reason` | Utf8 | yes | finish reason |
//! | `n` | UInt32 | no | completions per request |
//! | `output_chars` | UInt32 | no | characters of generated text |
//! | `items` | UInt32 | no | inputs sent (1 for generation) |
//! | `items_returned` | UInt32 | no | embeddings / scores received |
//! | `embedding_dim` | UInt32 | yes | embedding dimension |
//! | `ttft_ms` | Float64 | yes | first_token − start |
//! | `ttfo_ms` | Float64 | yes | first_output − start |
//! | `e2e_ms` | Float64 | no | (last_token, else end) − start |
//! | `decode_ms` | Float64 | no | e2e − ttft (e2e without TTFT) |
//! | `tpot_ms` | Float64 | yes | decode / (output/n − 1) |
//! | `queue_ms` | Float64 | no | start − dispatch |
//! | `send_lag_ms` | Float64 | yes | dispatch − scheduled (signed) |
//! | `input_tps` | Float64 | yes | input / ttft |
//! | `output_tps` | Float64 | yes | (output/n − 1) / decode |
//! | `itl_ms` | `List<Float64>` | no | gaps between consecutive content events |
//!
//! `crate::results::parquet::read_records` rebuilds the records from the
//! record columns (the derived ones are ignored; `connect_ms`, `sent_ns`,
//! `reconnects`, `usage_note` and the `server_*` timing columns, added later,
//! read as null, null, 0, null and null from files that lack them); `chunk_ns` comes back as
//! `start_ns + round(chunk_ms·10⁶)`, exact for offsets below about 26 days.
//!
//! The file is written to a temporary name in the same directory, synced and
//! renamed, so the directory never holds a half-written `requests.parquet`.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, ListBuilder};
use arrow_array::{
    Array, ArrayRef, BooleanArray, Float64Array, RecordBatch, StringArray, UInt16Array,
    UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use super::writer::{Sink, SinkError};
use crate::metrics::{request_metrics, RequestMetrics};
use crate::record::{RequestRecord, TimeoutKind};
use crate::results::layout::{temp_path, REQUESTS_FILE};
use crate::results::{ExperimentResults, ResultsDir};

/// Rows per Arrow record batch handed to the writer.
const BATCH_ROWS: usize = 8192;

/// Writes `requests.parquet` (see the module docs for the columns).
#[derive(Clone, Copy, Debug, Default)]
pub struct ParquetSink;

impl Sink for ParquetSink {
    fn name(&self) -> &'static str {
        "parquet"
    }

    fn write(&self, dir: &ResultsDir, results: &ExperimentResults) -> Result<(), SinkError> {
        write_records(&dir.file(REQUESTS_FILE), &results.records)
    }
}

/// The columns of one batch, built side by side with their schema fields.
struct Columns {
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

impl Columns {
    fn push(&mut self, name: &str, nullable: bool, array: ArrayRef) {
        self.fields
            .push(Field::new(name, array.data_type().clone(), nullable));
        self.arrays.push(array);
    }

    fn u32(&mut self, name: &str, rs: &[RequestRecord], f: impl Fn(&RequestRecord) -> u32) {
        self.push(
            name,
            false,
            Arc::new(UInt32Array::from_iter_values(rs.iter().map(f))),
        );
    }

    fn opt_u32(
        &mut self,
        name: &str,
        rs: &[RequestRecord],
        f: impl Fn(&RequestRecord) -> Option<u32>,
    ) {
        self.push(
            name,
            true,
            Arc::new(rs.iter().map(f).collect::<UInt32Array>()),
        );
    }

    fn u64(&mut self, name: &str, rs: &[RequestRecord], f: impl Fn(&RequestRecord) -> u64) {
        self.push(
            name,
            false,
            Arc::new(UInt64Array::from_iter_values(rs.iter().map(f))),
        );
    }

    fn opt_u64(
        &mut self,
        name: &str,
        rs: &[RequestRecord],
        f: impl Fn(&RequestRecord) -> Option<u64>,
    ) {
        self.push(
            name,
            true,
            Arc::new(rs.iter().map(f).collect::<UInt64Array>()),
        );
    }

    fn string(&mut self, name: &str, rs: &[RequestRecord], f: impl Fn(&RequestRecord) -> &str) {
        self.push(
            name,
            false,
            Arc::new(rs.iter().map(|r| Some(f(r))).collect::<StringArray>()),
        );
    }

    fn opt_string(
        &mut self,
        name: &str,
        rs: &[RequestRecord],
        f: impl Fn(&RequestRecord) -> Option<&str>,
    ) {
        self.push(
            name,
            true,
            Arc::new(rs.iter().map(f).collect::<StringArray>()),
        );
    }

    fn f64(&mut self, name: &str, values: impl Iterator<Item = f64>) {
        self.push(
            name,
            false,
            Arc::new(Float64Array::from_iter_values(values)),
        );
    }

    fn opt_f64(&mut self, name: &str, values: impl Iterator<Item = Option<f64>>) {
        self.push(name, true, Arc::new(values.collect::<Float64Array>()));
    }

    fn list_f64<'a>(&mut self, name: &str, lists: impl Iterator<Item = &'a [f64]>) {
        let mut b = ListBuilder::new(Float64Builder::new())
            .with_field(Arc::new(Field::new_list_field(DataType::Float64, false)));
        for list in lists {
            b.values().append_slice(list);
            b.append(true);
        }
        self.push(name, false, Arc::new(b.finish()));
    }
}

/// Builds one Arrow batch from `rs`.
fn build_batch(rs: &[RequestRecord]) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let ms: Vec<RequestMetrics> = rs.iter().map(request_metrics).collect();
    let mut c = Columns {
        fields: Vec::new(),
        arrays: Vec::new(),
    };
    // identity
    c.u32("point_index", rs, |r| r.point_index);
    c.string("point_id", rs, |r| &r.point_id);
    c.u32("run_index", rs, |r| r.run_index);
    c.u32("request_index", rs, |r| r.request_index);
    c.u32("attempt", rs, |r| r.attempt);
    c.string("request_id", rs, |r| &r.request_id);
    c.push(
        "warmup",
        false,
        Arc::new(rs.iter().map(|r| Some(r.warmup)).collect::<BooleanArray>()),
    );
    c.u32("turn", rs, |r| r.turn);
    c.opt_u32("conversation", rs, |r| r.conversation);
    c.opt_u32("prefix_group", rs, |r| r.prefix_group);
    c.string("model", rs, |r| &r.model);
    c.opt_string("lora", rs, |r| r.lora.as_deref());
    // timing
    c.opt_u64("scheduled_ns", rs, |r| r.scheduled_ns);
    c.u64("dispatch_ns", rs, |r| r.dispatch_ns);
    c.u64("start_ns", rs, |r| r.start_ns);
    c.opt_f64("connect_ms", rs.iter().map(|r| r.connect_ms));
    c.opt_u64("sent_ns", rs, |r| r.sent_ns);
    c.opt_u64("first_byte_ns", rs, |r| r.first_byte_ns);
    c.opt_u64("first_chunk_ns", rs, |r| r.first_chunk_ns);
    c.opt_u64("first_token_ns", rs, |r| r.first_token_ns);
    c.opt_u64("first_output_ns", rs, |r| r.first_output_ns);
    c.opt_u64("last_token_ns", rs, |r| r.last_token_ns);
    c.u64("end_ns", rs, |r| r.end_ns);
    c.list_f64("chunk_ms", ms.iter().map(|m| m.chunk_ms.as_slice()));
    c.u32("events", rs, |r| r.events);
    // outcome
    c.string("outcome", rs, |r| r.outcome.as_str());
    c.opt_string("timeout_kind", rs, |r| {
        r.timeout_kind.map(TimeoutKind::as_str)
    });
    c.push(
        "http_status",
        true,
        Arc::new(rs.iter().map(|r| r.http_status).collect::<UInt16Array>()),
    );
    c.opt_string("error", rs, |r| r.error.as_deref());
    c.opt_f64("retry_after_s", rs.iter().map(|r| r.retry_after_s));
    c.u32("malformed_events", rs, |r| r.malformed_events);
    c.u32("reconnects", rs, |r| r.reconnects);
    // tokens
    c.opt_u32("target_input_tokens", rs, |r| r.target_input_tokens);
    c.opt_u32("built_input_tokens", rs, |r| r.built_input_tokens);
    c.opt_u32("target_output_tokens", rs, |r| r.target_output_tokens);
    c.opt_u32("max_tokens", rs, |r| r.max_tokens);
    c.opt_u32("server_input_tokens", rs, |r| r.server_input_tokens);
    c.opt_u32("server_output_tokens", rs, |r| r.server_output_tokens);
    c.opt_string("usage_note", rs, |r| r.usage_note.as_deref());
    c.opt_u32("client_output_tokens", rs, |r| r.client_output_tokens);
    c.u32("input_tokens", rs, |r| r.input_tokens);
    c.u32("output_tokens", rs, |r| r.output_tokens);
    c.string("input_token_source", rs, |r| r.input_token_source.as_str());
    c.string("output_token_source", rs, |r| {
        r.output_token_source.as_str()
    });
    c.opt_u32("reasoning_tokens", rs, |r| r.reasoning_tokens);
    c.opt_u32("cached_tokens", rs, |r| r.cached_tokens);
    c.opt_f64("server_prefill_ms", rs.iter().map(|r| r.server_prefill_ms));
    c.opt_f64("server_decode_ms", rs.iter().map(|r| r.server_decode_ms));
    c.opt_u32("server_cached_tokens", rs, |r| r.server_cached_tokens);
    c.opt_string("finish_reason", rs, |r| r.finish_reason.as_deref());
    c.u32("n", rs, |r| r.n);
    c.u32("output_chars", rs, |r| r.output_chars);
    // embeddings / rerank / score
    c.u32("items", rs, |r| r.items);
    c.u32("items_returned", rs, |r| r.items_returned);
    c.opt_u32("embedding_dim", rs, |r| r.embedding_dim);
    // derived per-request metrics
    c.opt_f64("ttft_ms", ms.iter().map(|m| m.ttft_ms));
    c.opt_f64("ttfo_ms", ms.iter().map(|m| m.ttfo_ms));
    c.f64("e2e_ms", ms.iter().map(|m| m.e2e_ms));
    c.f64("decode_ms", ms.iter().map(|m| m.decode_ms));
    c.opt_f64("tpot_ms", ms.iter().map(|m| m.tpot_ms));
    c.f64("queue_ms", ms.iter().map(|m| m.queue_ms));
    c.opt_f64("send_lag_ms", ms.iter().map(|m| m.send_lag_ms));
    c.opt_f64("input_tps", ms.iter().map(|m| m.input_tps));
    c.opt_f64("output_tps", ms.iter().map(|m| m.output_tps));
    c.list_f64("itl_ms", ms.iter().map(|m| m.itl_ms.as_slice()));
    RecordBatch::try_new(Arc::new(Schema::new(c.fields)), c.arrays)
}

/// Writes `records` to `path` as Parquet (zstd), atomically.
///
/// # Errors
/// When the file cannot be created, encoded, synced or renamed; the error names `path`.
pub fn write_records(path: &Path, records: &[RequestRecord]) -> Result<(), SinkError> {
    let encode = |e: &dyn std::fmt::Display| SinkError::Encode {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let io = |source| SinkError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = temp_path(path);
    let result = (|| {
        let file = File::create(&tmp).map_err(io)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .build();
        let schema = build_batch(&[]).map_err(|e| encode(&e))?.schema();
        let mut writer = ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| encode(&e))?;
        for chunk in records.chunks(BATCH_ROWS) {
            let batch = build_batch(chunk).map_err(|e| encode(&e))?;
            writer.write(&batch).map_err(|e| encode(&e))?;
        }
        let file = writer.into_inner().map_err(|e| encode(&e))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use arrow_array::cast::AsArray;
    use arrow_array::types::Float64Type;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    use super::*;
    use crate::record::{Outcome, TokenSource};
    use crate::results::parquet::read_records;

    const MS: u64 = 1_000_000;

    /// A record with every optional field set, and one with none.
    fn records() -> Vec<RequestRecord> {
        let full = RequestRecord {
            point_index: 2,
            point_id: "local.short.burst-8".into(),
            run_index: 1,
            request_index: 7,
            attempt: 2,
            request_id: "tk-2-1-7-2".into(),
            warmup: false,
            turn: 1,
            conversation: Some(3),
            prefix_group: Some(4),
            model: "m:lora-a".into(),
            lora: Some("lora-a".into()),
            scheduled_ns: Some(1_000),
            dispatch_ns: 2_000,
            start_ns: 3_000_123,
            connect_ms: Some(0.125),
            sent_ns: Some(12 * MS),
            first_byte_ns: Some(40 * MS),
            first_chunk_ns: Some(41 * MS),
            first_token_ns: Some(43 * MS + 7),
            first_output_ns: Some(45 * MS),
            last_token_ns: Some(90 * MS + 1),
            end_ns: 95 * MS,
            chunk_ns: vec![43 * MS + 7, 45 * MS, 45 * MS, 90 * MS + 1],
            events: 6,
            outcome: Outcome::Ok,
            timeout_kind: Some(TimeoutKind::Idle),
            http_status: Some(200),
            error: Some("é \"quoted\"".into()),
            retry_after_s: Some(1.5),
            malformed_events: 1,
            reconnects: 1,
            target_input_tokens: Some(100),
            built_input_tokens: Some(101),
            target_output_tokens: Some(4),
            max_tokens: Some(4),
            server_input_tokens: Some(102),
            server_output_tokens: Some(4),
            usage_note: Some("completion_tokens = -3".into()),
            client_output_tokens: Some(5),
            input_tokens: 102,
            output_tokens: 4,
            input_token_source: TokenSource::Usage,
            output_token_source: TokenSource::Tokenizer,
            reasoning_tokens: Some(1),
            cached_tokens: Some(64),
            server_prefill_ms: Some(12.5),
            server_decode_ms: Some(40.25),
            server_cached_tokens: Some(60),
            finish_reason: Some("length".into()),
            n: 1,
            output_chars: 17,
            items: 1,
            items_returned: 1,
            embedding_dim: Some(384),
        };
        let empty = RequestRecord {
            warmup: true,
            outcome: Outcome::ConnectError,
            attempt: 1,
            ..RequestRecord::default()
        };
        vec![full, empty]
    }

    #[test]
    fn round_trip_is_lossless() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(REQUESTS_FILE);
        let recs = records();
        write_records(&path, &recs).unwrap();
        assert_eq!(read_records(&path).unwrap(), recs);
        // Only the final file remains (no temp file).
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn many_records_span_several_batches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(REQUESTS_FILE);
        let recs: Vec<RequestRecord> = (0..(BATCH_ROWS as u32 + 5))
            .map(|i| RequestRecord {
                request_index: i,
                start_ns: u64::from(i) * MS,
                end_ns: u64::from(i) * MS + 5 * MS,
                chunk_ns: vec![u64::from(i) * MS + MS],
                ..RequestRecord::default()
            })
            .collect();
        write_records(&path, &recs).unwrap();
        assert_eq!(read_records(&path).unwrap(), recs);
    }

    #[test]
    fn derived_columns_hold_the_metrics() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(REQUESTS_FILE);
        write_records(&path, &records()).unwrap();
        let file = File::open(&path).unwrap();
        let batch = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap()
            .next()
            .unwrap()
            .unwrap();
        let f = |n: &str| {
            batch
                .column_by_name(n)
                .unwrap()
                .as_primitive::<Float64Type>()
                .clone()
        };
        // ttft = 43 ms + 7 ns − 3 ms 123 ns = 39.999884 ms
        assert!((f("ttft_ms").value(0) - 39.999_884).abs() < 1e-9);
        assert!(f("ttft_ms").is_null(1));
        // e2e = 90 ms + 1 − 3.000123 ms = 86.999878 ms
        assert!((f("e2e_ms").value(0) - 86.999_878).abs() < 1e-9);
        // itl list of row 0: 3 gaps, the middle one 0 (two events in one read)
        let itl = batch
            .column_by_name("itl_ms")
            .unwrap()
            .as_list::<i32>()
            .value(0);
        let itl = itl.as_primitive::<Float64Type>();
        assert_eq!(itl.len(), 3);
        assert_eq!(itl.value(1), 0.0);
        let outcome = batch
            .column_by_name("outcome")
            .unwrap()
            .as_string::<i32>()
            .clone();
        assert_eq!(outcome.value(1), "connect_error");
        assert_eq!(batch.num_columns(), 65);
    }

    #[test]
    fn files_without_the_later_columns_still_read() {
        // requests.parquet written before the connection, usage-note and
        // server-timing columns existed.
        let recs = records();
        let batch = build_batch(&recs).unwrap();
        let keep: Vec<usize> = (0..batch.num_columns())
            .filter(|&i| {
                let name = batch.schema().field(i).name().clone();
                ![
                    "connect_ms",
                    "sent_ns",
                    "reconnects",
                    "usage_note",
                    "server_prefill_ms",
                    "server_decode_ms",
                    "server_cached_tokens",
                ]
                .contains(&name.as_str())
            })
            .collect();
        let old = batch.project(&keep).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(REQUESTS_FILE);
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), old.schema(), None).unwrap();
        w.write(&old).unwrap();
        w.close().unwrap();
        let back = read_records(&path).unwrap();
        assert_eq!(back.len(), recs.len());
        for (b, r) in back.iter().zip(&recs) {
            assert_eq!((b.connect_ms, b.sent_ns, b.reconnects), (None, None, 0));
            assert_eq!(b.usage_note, None);
            assert_eq!(
                (
                    b.server_prefill_ms,
                    b.server_decode_ms,
                    b.server_cached_tokens
                ),
                (None, None, None)
            );
            assert_eq!(b.request_id, r.request_id);
            assert_eq!(b.chunk_ns, r.chunk_ns);
        }
    }

    #[test]
    fn module_doc_table_lists_every_column_in_order() {
        // The table in the module docs is the format's contract: it must match the schema.
        let documented: Vec<String> = include_str!("parquet.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("//! | `"))
            .filter_map(|l| l.split('`').next())
            .map(str::to_string)
            .collect();
        let schema = build_batch(&[]).unwrap().schema();
        let actual: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(documented, actual);
    }

    #[test]
    fn errors_name_the_path() {
        let err = write_records(
            Path::new("/nonexistent-dir-xyz/requests.parquet"),
            &records(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("/nonexistent-dir-xyz/requests.parquet"),
            "{err}"
        );
        let dir = tempfile::tempdir().unwrap();
        let bogus = dir.path().join("bogus.parquet");
        std::fs::write(&bogus, b"not parquet").unwrap();
        let err = read_records(&bogus).unwrap_err();
        assert!(err.to_string().contains("bogus.parquet"), "{err}");
    }
}
