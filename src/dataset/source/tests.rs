//! Tests of dataset file readers and column rules (see the module docs of `crate::dataset::source`).

use super::formats::{read_jsonl_limited, read_line_limited, read_txt_limited, Line};
use super::*;
use std::fs::File;

fn cols(text: &str) -> Columns {
    Columns {
        text: text.to_string(),
        messages: false,
        image: None,
    }
}

/// The texts of column `text` read from CSV `content` (written to a file).
fn csv_texts(content: &[u8], name: &str, delimiter: Option<char>) -> Result<Vec<String>, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    let table = read_file(
        &path,
        crate::vocab::FileFormat::Csv,
        delimiter,
        &cols("text"),
        None,
    )
    .map_err(|e| e.to_string())?;
    Ok(table
        .rows
        .into_iter()
        .map(|r| match r {
            RawRow::Fields(f) => match f.into_iter().next().flatten() {
                Some(Cell::Str(s)) => s,
                other => format!("{other:?}"),
            },
            RawRow::Bare(s) => s,
        })
        .collect())
}

#[test]
fn csv_handles_quotes_newlines_bom_and_delimiters() {
    let texts = csv_texts(
        b"text,b\r\n\"x, \"\"y\"\"\",2\n\"multi\nline\",3\n",
        "a.csv",
        None,
    )
    .unwrap();
    assert_eq!(texts, ["x, \"y\"", "multi\nline"]);
    // A UTF-8 byte-order mark before the header is not part of the first column's name.
    let texts = csv_texts(b"\xef\xbb\xbftext,n\nhello,1\n", "bom.csv", None).unwrap();
    assert_eq!(texts, ["hello"]);
    // Other delimiters: from the dataset, or tab for .tsv.
    assert_eq!(
        csv_texts(b"n;text\n1;a,b\n", "semi.csv", Some(';')).unwrap(),
        ["a,b"]
    );
    assert_eq!(
        csv_texts(b"n\ttext\n1\ta,b\n", "t.tsv", None).unwrap(),
        ["a,b"]
    );
    // Short rows are allowed (missing fields read as absent).
    assert_eq!(
        csv_texts(b"n,text\n1\n2,b\n", "short.csv", None).unwrap(),
        ["None", "b"]
    );
    // An unclosed quote runs to the end of the file, as in RFC 4180 readers.
    assert_eq!(
        csv_texts(b"text\n\"open\nmore", "open.csv", None).unwrap(),
        ["open\nmore"]
    );
    let err = csv_texts(b"text\n\xff\xfe\n", "latin.csv", None).unwrap_err();
    assert!(
        err.contains("latin.csv") && err.contains("not valid UTF-8"),
        "{err}"
    );
    let err = csv_texts(b"text\na\n", "bad.csv", Some('"')).unwrap_err();
    assert!(err.contains("delimiter"), "{err}");
}

#[test]
fn coercion_follows_the_rules() {
    let map = Cell::Map(vec![
        ("value".into(), Cell::Str("v".into())),
        ("text".into(), Cell::Str("t".into())),
    ]);
    assert_eq!(map.text().as_deref(), Some("v"));
    let content = Cell::Map(vec![
        ("text".into(), Cell::Str("t".into())),
        ("content".into(), Cell::Str("c".into())),
    ]);
    assert_eq!(content.text().as_deref(), Some("c"));
    let list = Cell::List(vec![content.clone(), Cell::Str("second".into())]);
    assert_eq!(list.text().as_deref(), Some("c"));
    assert_eq!(Cell::Int(4).text().as_deref(), Some("4"));
    assert_eq!(Cell::Null.text(), None);
    assert_eq!(Cell::List(vec![]).text(), None);
}

#[test]
fn missing_column_lists_the_columns() {
    let table = RawTable {
        available: vec!["question".into(), "answer".into()],
        present: vec![false],
        rows: vec![RawRow::Fields(vec![None])],
        oversize: 0,
    };
    let err = rows_from_table(table, &cols("prompt"), "data/x.csv", None).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("data/x.csv"), "{msg}");
    assert!(msg.contains("`prompt`"), "{msg}");
    assert!(msg.contains("question, answer"), "{msg}");
    assert!(msg.contains("prompt_column"), "{msg}");
}

#[test]
fn oversize_and_empty_rows_are_skipped() {
    let table = RawTable {
        available: vec![],
        present: vec![],
        rows: vec![
            RawRow::Bare("x".repeat(MAX_TEXT_BYTES + 1)),
            RawRow::Bare("  ".into()),
            RawRow::Bare("ok".into()),
        ],
        oversize: 0,
    };
    let rows = rows_from_table(table, &cols("text"), "t", None).unwrap();
    assert_eq!(rows.oversize, 1);
    assert_eq!(rows.rows.len(), 1);
    assert_eq!(rows.rows[0].text, "ok");
}

#[test]
fn messages_and_images_are_read() {
    let c = Columns {
        text: "conv".into(),
        messages: true,
        image: Some("img".into()),
    };
    let conv = Cell::List(vec![
        Cell::Map(vec![
            ("from".into(), Cell::Str("human".into())),
            ("value".into(), Cell::Str("hi".into())),
        ]),
        Cell::Map(vec![
            ("role".into(), Cell::Str("assistant".into())),
            ("content".into(), Cell::Str("hello".into())),
        ]),
    ]);
    let img = Cell::Map(vec![
        ("bytes".into(), Cell::Bytes(Bytes::from_static(b"\x89PNG"))),
        ("path".into(), Cell::Null),
    ]);
    let table = RawTable {
        available: vec!["conv".into(), "img".into()],
        present: vec![true, true],
        rows: vec![RawRow::Fields(vec![Some(conv), Some(img)])],
        oversize: 0,
    };
    let rows = rows_from_table(table, &c, "t", None).unwrap();
    let row = &rows.rows[0];
    assert_eq!(row.text, "hi");
    let msgs = row.messages.as_ref().unwrap();
    assert_eq!(msgs[0].role, "user");
    assert_eq!(msgs[1].content, "hello");
    assert_eq!(
        row.images,
        vec![ImageRef::Bytes(Bytes::from_static(b"\x89PNG"))]
    );
}

#[test]
fn lines_are_read_with_a_bound() {
    // A tiny buffer makes every line arrive in several pieces.
    let input: &[u8] = b"one\r\ntoolong-line\n\nlast";
    let mut r = std::io::BufReader::with_capacity(3, input);
    let mut got = Vec::new();
    loop {
        match read_line_limited(&mut r, 8).unwrap() {
            Line::Eof => break,
            line => got.push(line),
        }
    }
    assert_eq!(
        got,
        vec![
            Line::Text(b"one".to_vec()),
            Line::TooLong,
            Line::Text(Vec::new()),
            Line::Text(b"last".to_vec()),
        ]
    );
    // Exactly at the limit is fine.
    let mut r = std::io::BufReader::with_capacity(2, &b"12345678\n"[..]);
    assert_eq!(
        read_line_limited(&mut r, 8).unwrap(),
        Line::Text(b"12345678".to_vec())
    );
}

#[test]
fn txt_lines_over_the_text_limit_are_skipped_while_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.txt");
    let mut text = String::from("first\n");
    text.push_str(&"x".repeat(MAX_TEXT_BYTES + 1));
    text.push_str("\n\n  second  \r\nthird");
    std::fs::write(&path, text).unwrap();
    let table = read_txt(&path, None).unwrap();
    assert_eq!(table.oversize, 1);
    let rows = rows_from_table(table, &cols("text"), "p.txt", None).unwrap();
    assert_eq!(rows.oversize, 1);
    let texts: Vec<&str> = rows.rows.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(texts, vec!["first", "second", "third"]);
    // The skipped line counts toward max_rows, as a read row.
    let table = read_txt(&path, Some(2)).unwrap();
    assert_eq!((table.rows.len(), table.oversize), (1, 1));
}

#[test]
fn jsonl_lines_over_the_line_limit_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.jsonl");
    let big = format!("{{\"text\":\"{}\"}}", "y".repeat(500));
    std::fs::write(
        &path,
        format!("{{\"text\":\"a\"}}\n{big}\n{{\"text\":\"b\"}}\n"),
    )
    .unwrap();
    let table = read_jsonl_limited(&path, &cols("text"), None, 100, MAX_STREAM_BYTES).unwrap();
    assert_eq!(table.oversize, 1);
    let rows = rows_from_table(table, &cols("text"), "d.jsonl", None).unwrap();
    let texts: Vec<&str> = rows.rows.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(texts, vec!["a", "b"]);
    assert_eq!(rows.oversize, 1);
    // With the real limit the same line is an ordinary row.
    let table = read_jsonl(&path, &cols("text"), None).unwrap();
    assert_eq!((table.rows.len(), table.oversize), (3, 0));
}

#[test]
fn invalid_utf8_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.txt");
    std::fs::write(&path, b"ok\nbad \xff\n").unwrap();
    let err = read_txt(&path, None).unwrap_err().to_string();
    assert!(err.contains("line 2: not valid UTF-8"), "{err}");
    assert!(err.contains("p.txt"), "{err}");
}

#[test]
fn conversations_over_the_text_limit_are_skipped() {
    let c = Columns {
        text: "conv".into(),
        messages: true,
        image: None,
    };
    let msg = |role: &str, content: String| {
        Cell::Map(vec![
            ("role".into(), Cell::Str(role.into())),
            ("content".into(), Cell::Str(content)),
        ])
    };
    // The user's text is short; the assistant's reply makes the row too big.
    let big = Cell::List(vec![
        msg("user", "hi".into()),
        msg("assistant", "z".repeat(MAX_TEXT_BYTES)),
    ]);
    let small = Cell::List(vec![msg("user", "hello".into())]);
    let table = RawTable {
        available: vec!["conv".into()],
        present: vec![true],
        rows: vec![
            RawRow::Fields(vec![Some(big)]),
            RawRow::Fields(vec![Some(small)]),
        ],
        oversize: 0,
    };
    let rows = rows_from_table(table, &c, "t", None).unwrap();
    assert_eq!(rows.oversize, 1);
    assert_eq!(rows.rows.len(), 1);
    assert_eq!(rows.rows[0].text, "hello");
}

#[test]
fn a_json_file_over_the_size_limit_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    // A sparse file: the size is checked before anything is read.
    let f = File::create(&path).unwrap();
    f.set_len(MAX_WHOLE_FILE_BYTES + 1).unwrap();
    let err = read_file(
        &path,
        crate::vocab::FileFormat::Json,
        None,
        &cols("text"),
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("big.json"), "{err}");
    assert!(err.contains("over the 1024 MiB limit"), "{err}");
    assert!(err.contains(".jsonl or .parquet"), "{err}");
}

/// Limits count the bytes read, so a device or a pipe, whose size the file
/// system does not know, cannot feed more than the limit.
#[test]
fn limits_hold_for_files_of_unknown_size() {
    let zero = Path::new("/dev/zero");
    let limit = 1 << 20;
    let err = read_txt_limited(zero, None, limit).unwrap_err().to_string();
    assert!(
        err.contains("/dev/zero") && err.contains("more than 1 MiB"),
        "{err}"
    );
    let err = read_jsonl_limited(zero, &cols("text"), None, 1 << 16, limit)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("more than 1 MiB") && err.contains("max_rows"),
        "{err}"
    );
    let err = read_csv(zero, b',', &cols("text"), None, limit)
        .unwrap_err()
        .to_string();
    assert!(err.contains("more than 1 MiB"), "{err}");
    // A file of exactly the limit is read whole.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("exact.txt");
    std::fs::write(&path, b"a\nb\n").unwrap();
    assert_eq!(read_txt_limited(&path, None, 4).unwrap().rows.len(), 2);
    assert!(read_txt_limited(&path, None, 3).is_err());
}
