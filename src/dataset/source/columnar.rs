//! Reading Parquet files: the requested columns as [`Cell`]s.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;

use super::{read_err, Cell, Columns, RawRow, RawTable};
use crate::dataset::DatasetError;

/// Reads the requested columns of Parquet files (in order) into one table.
pub(crate) fn read_parquet(
    paths: &[PathBuf],
    cols: &Columns,
    max_rows: Option<usize>,
) -> Result<RawTable, DatasetError> {
    let requested = cols.requested();
    let limit = max_rows.unwrap_or(usize::MAX);
    let mut table = RawTable {
        present: vec![false; requested.len()],
        ..RawTable::default()
    };
    for path in paths {
        if table.rows.len() >= limit {
            break;
        }
        let file = File::open(path).map_err(|e| read_err(path, format!("cannot open: {e}")))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| read_err(path, format!("not a readable Parquet file: {e}")))?;
        let schema = builder.schema().clone();
        let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
        for n in &names {
            if !table.available.contains(n) {
                table.available.push(n.clone());
            }
        }
        let roots: Vec<Option<usize>> = requested
            .iter()
            .map(|c| names.iter().position(|n| n == c))
            .collect();
        for (i, r) in roots.iter().enumerate() {
            table.present[i] |= r.is_some();
        }
        let wanted: Vec<usize> = roots.iter().flatten().copied().collect();
        if wanted.is_empty() {
            continue;
        }
        let mask = ProjectionMask::roots(builder.parquet_schema(), wanted.iter().copied());
        let reader = builder
            .with_projection(mask)
            .with_batch_size(1024)
            .build()
            .map_err(|e| read_err(path, format!("cannot read Parquet: {e}")))?;
        for batch in reader {
            let batch = batch.map_err(|e| read_err(path, format!("cannot read Parquet: {e}")))?;
            let bschema = batch.schema();
            let arrays: Vec<Option<ArrayRef>> = requested
                .iter()
                .map(|c| {
                    bschema
                        .index_of(c)
                        .ok()
                        .map(|i| Arc::clone(batch.column(i)))
                })
                .collect();
            for row in 0..batch.num_rows() {
                if table.rows.len() >= limit {
                    break;
                }
                let mut fields = Vec::with_capacity(arrays.len());
                for (a, name) in arrays.iter().zip(&requested) {
                    fields.push(match a {
                        Some(a) => Some(
                            cell_at(a.as_ref(), row)
                                .map_err(|e| read_err(path, format!("column `{name}`: {e}")))?,
                        ),
                        None => None,
                    });
                }
                table.rows.push(RawRow::Fields(fields));
            }
        }
    }
    Ok(table)
}

macro_rules! prim {
    ($array:expr, $i:expr, $t:ty, $variant:ident, $conv:expr) => {
        $array
            .as_primitive_opt::<$t>()
            .map(|a| Cell::$variant($conv(a.value($i))))
            .ok_or_else(|| "unexpected array layout".to_string())
    };
}

/// One Arrow value as a [`Cell`].
fn cell_at(array: &dyn Array, i: usize) -> Result<Cell, String> {
    if array.is_null(i) {
        return Ok(Cell::Null);
    }
    let layout = || "unexpected array layout".to_string();
    match array.data_type() {
        DataType::Null => Ok(Cell::Null),
        DataType::Boolean => array
            .as_boolean_opt()
            .map(|a| Cell::Bool(a.value(i)))
            .ok_or_else(layout),
        DataType::Int8 => prim!(array, i, Int8Type, Int, i64::from),
        DataType::Int16 => prim!(array, i, Int16Type, Int, i64::from),
        DataType::Int32 => prim!(array, i, Int32Type, Int, i64::from),
        DataType::Int64 => prim!(array, i, Int64Type, Int, |v| v),
        DataType::UInt8 => prim!(array, i, UInt8Type, Int, i64::from),
        DataType::UInt16 => prim!(array, i, UInt16Type, Int, i64::from),
        DataType::UInt32 => prim!(array, i, UInt32Type, Int, i64::from),
        DataType::UInt64 => prim!(array, i, UInt64Type, Float, |v: u64| v as f64),
        DataType::Float32 => prim!(array, i, Float32Type, Float, f64::from),
        DataType::Float64 => prim!(array, i, Float64Type, Float, |v| v),
        DataType::Utf8 => array
            .as_string_opt::<i32>()
            .map(|a| Cell::Str(a.value(i).to_string()))
            .ok_or_else(layout),
        DataType::LargeUtf8 => array
            .as_string_opt::<i64>()
            .map(|a| Cell::Str(a.value(i).to_string()))
            .ok_or_else(layout),
        DataType::Utf8View => array
            .as_string_view_opt()
            .map(|a| Cell::Str(a.value(i).to_string()))
            .ok_or_else(layout),
        DataType::Binary => array
            .as_binary_opt::<i32>()
            .map(|a| Cell::Bytes(Bytes::copy_from_slice(a.value(i))))
            .ok_or_else(layout),
        DataType::LargeBinary => array
            .as_binary_opt::<i64>()
            .map(|a| Cell::Bytes(Bytes::copy_from_slice(a.value(i))))
            .ok_or_else(layout),
        DataType::BinaryView => array
            .as_binary_view_opt()
            .map(|a| Cell::Bytes(Bytes::copy_from_slice(a.value(i))))
            .ok_or_else(layout),
        DataType::FixedSizeBinary(_) => array
            .as_fixed_size_binary_opt()
            .map(|a| Cell::Bytes(Bytes::copy_from_slice(a.value(i))))
            .ok_or_else(layout),
        DataType::Struct(_) => {
            let s = array.as_struct_opt().ok_or_else(layout)?;
            let mut fields = Vec::with_capacity(s.num_columns());
            for (name, col) in s.column_names().iter().zip(s.columns()) {
                fields.push(((*name).to_string(), cell_at(col.as_ref(), i)?));
            }
            Ok(Cell::Map(fields))
        }
        DataType::List(_) => {
            let l = array.as_list_opt::<i32>().ok_or_else(layout)?;
            list_cells(l.value(i).as_ref())
        }
        DataType::LargeList(_) => {
            let l = array.as_list_opt::<i64>().ok_or_else(layout)?;
            list_cells(l.value(i).as_ref())
        }
        DataType::FixedSizeList(_, _) => {
            let l = array.as_fixed_size_list_opt().ok_or_else(layout)?;
            list_cells(l.value(i).as_ref())
        }
        DataType::Dictionary(_, _) => {
            let d = array.as_any_dictionary_opt().ok_or_else(layout)?;
            let key = d.normalized_keys().get(i).copied().ok_or_else(layout)?;
            cell_at(d.values().as_ref(), key)
        }
        other => Err(format!("values of type {other} are not supported")),
    }
}

fn list_cells(values: &dyn Array) -> Result<Cell, String> {
    (0..values.len())
        .map(|j| cell_at(values, j))
        .collect::<Result<Vec<_>, _>>()
        .map(Cell::List)
}
