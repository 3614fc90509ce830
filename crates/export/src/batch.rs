//! Rows gathered into an Arrow record batch, column by column.

use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Int64Builder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, ListArray, RecordBatch, StructArray};
use arrow_buffer::{OffsetBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, SchemaRef};
use thinktee_pipeline::{FilterEvent, StreamError, ToolCallRecord};

use crate::row::Value;
use crate::schema::{
    COLUMNS, ERROR_FIELDS, FILTER_FIELDS, Kind, TOOL_CALL_FIELDS, item_field, schema, struct_fields,
};

/// One column being built.
#[derive(Debug)]
enum Builder {
    Str(StringBuilder),
    Int(Int64Builder),
    Bool(BooleanBuilder),
    Time(TimestampMicrosecondBuilder),
    Filters(Box<FilterList>),
    Errors(Box<ErrorList>),
    ToolCalls(Box<ToolCallList>),
}

/// `filters`: a list of structs, kept as one builder per field and the
/// list offsets.
#[derive(Debug)]
struct FilterList {
    offsets: Vec<i32>,
    source: StringBuilder,
    category: StringBuilder,
    filtered: BooleanBuilder,
    severity: StringBuilder,
    detected: BooleanBuilder,
    id: StringBuilder,
    code: StringBuilder,
    message: StringBuilder,
    check_offset: Int64Builder,
    start_offset: Int64Builder,
    end_offset: Int64Builder,
}

/// `errors`: as [`FilterList`].
#[derive(Debug)]
struct ErrorList {
    offsets: Vec<i32>,
    kind: StringBuilder,
    code: StringBuilder,
    message: StringBuilder,
}

/// `tool_calls`: as [`FilterList`].
#[derive(Debug)]
struct ToolCallList {
    offsets: Vec<i32>,
    id: StringBuilder,
    name: StringBuilder,
    arguments: StringBuilder,
}

/// Builders start empty: the arrow builders' own `new` reserves 1,024
/// values (about 300 KB for the 41 columns), which every open partition
/// would hold before its first row and which no budget counts. They grow as
/// rows come, as they do after each batch anyway (`finish` leaves them
/// empty).
fn strings() -> StringBuilder {
    StringBuilder::with_capacity(0, 0)
}

fn ints() -> Int64Builder {
    Int64Builder::with_capacity(0)
}

fn bools() -> BooleanBuilder {
    BooleanBuilder::with_capacity(0)
}

impl FilterList {
    fn new() -> FilterList {
        FilterList {
            offsets: Vec::new(),
            source: strings(),
            category: strings(),
            filtered: bools(),
            severity: strings(),
            detected: bools(),
            id: strings(),
            code: strings(),
            message: strings(),
            check_offset: ints(),
            start_offset: ints(),
            end_offset: ints(),
        }
    }

    fn push(&mut self, filters: &[FilterEvent]) {
        for f in filters {
            let offsets = f.offsets.unwrap_or_default();
            let n = |v: Option<u64>| v.and_then(|v| i64::try_from(v).ok());
            self.source.append_value(f.source.as_str());
            self.category.append_value(&f.category);
            self.filtered.append_option(f.filtered);
            self.severity.append_option(f.severity.as_deref());
            self.detected.append_option(f.detected);
            self.id.append_option(f.id.as_deref());
            self.code.append_option(f.code.as_deref());
            self.message.append_option(f.message.as_deref());
            self.check_offset.append_option(n(offsets.check_offset));
            self.start_offset.append_option(n(offsets.start_offset));
            self.end_offset.append_option(n(offsets.end_offset));
        }
        next_offset(&mut self.offsets, filters.len());
    }

    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.source.finish()),
            Arc::new(self.category.finish()),
            Arc::new(self.filtered.finish()),
            Arc::new(self.severity.finish()),
            Arc::new(self.detected.finish()),
            Arc::new(self.id.finish()),
            Arc::new(self.code.finish()),
            Arc::new(self.message.finish()),
            Arc::new(self.check_offset.finish()),
            Arc::new(self.start_offset.finish()),
            Arc::new(self.end_offset.finish()),
        ];
        list(&mut self.offsets, FILTER_FIELDS, columns)
    }
}

impl ErrorList {
    fn new() -> ErrorList {
        ErrorList { offsets: Vec::new(), kind: strings(), code: strings(), message: strings() }
    }

    fn push(&mut self, errors: &[StreamError]) {
        for e in errors {
            self.kind.append_value(e.kind.as_str());
            self.code.append_option(e.code.as_deref());
            self.message.append_value(&e.message);
        }
        next_offset(&mut self.offsets, errors.len());
    }

    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.kind.finish()),
            Arc::new(self.code.finish()),
            Arc::new(self.message.finish()),
        ];
        list(&mut self.offsets, ERROR_FIELDS, columns)
    }
}

impl ToolCallList {
    fn new() -> ToolCallList {
        ToolCallList { offsets: Vec::new(), id: strings(), name: strings(), arguments: strings() }
    }

    fn push(&mut self, calls: &[ToolCallRecord]) {
        for c in calls {
            self.id.append_option(c.id.as_deref());
            self.name.append_option(c.name.as_deref());
            self.arguments.append_value(&c.arguments);
        }
        next_offset(&mut self.offsets, calls.len());
    }

    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.id.finish()),
            Arc::new(self.name.finish()),
            Arc::new(self.arguments.finish()),
        ];
        list(&mut self.offsets, TOOL_CALL_FIELDS, columns)
    }
}

/// Ends a row's list of `len` items.
fn next_offset(offsets: &mut Vec<i32>, len: usize) {
    if offsets.is_empty() {
        offsets.push(0);
    }
    let last = offsets.last().copied().unwrap_or(0);
    // A batch holds far fewer than 2^31 items: `Batch::full` bounds it.
    offsets.push(last.saturating_add(i32::try_from(len).unwrap_or(i32::MAX)));
}

fn list(
    offsets: &mut Vec<i32>,
    fields: &[(&str, Kind)],
    columns: Vec<ArrayRef>,
) -> Result<ArrayRef, ArrowError> {
    let mut taken = std::mem::take(offsets);
    if taken.is_empty() {
        taken.push(0);
    }
    let values = StructArray::try_new(struct_fields(fields), columns, None)?;
    let offsets = OffsetBuffer::new(ScalarBuffer::from(taken));
    Ok(Arc::new(ListArray::try_new(item_field(fields), offsets, Arc::new(values), None)?))
}

impl Builder {
    fn new(kind: Kind) -> Builder {
        match kind {
            Kind::Str => Builder::Str(strings()),
            Kind::Int => Builder::Int(ints()),
            Kind::Bool => Builder::Bool(bools()),
            Kind::Time => {
                Builder::Time(TimestampMicrosecondBuilder::with_capacity(0).with_timezone("UTC"))
            }
            Kind::Filters => Builder::Filters(Box::new(FilterList::new())),
            Kind::Errors => Builder::Errors(Box::new(ErrorList::new())),
            Kind::ToolCalls => Builder::ToolCalls(Box::new(ToolCallList::new())),
        }
    }

    /// Appends `v`; a value of another kind than the column's (which
    /// `row::tests` rules out) appends nothing, and the batch then fails
    /// to build with an error rather than a panic.
    fn push(&mut self, v: &Value<'_>) {
        match (self, v) {
            (Builder::Str(b), Value::Str(v)) => b.append_option(*v),
            (Builder::Int(b), Value::Int(v)) => b.append_option(*v),
            (Builder::Bool(b), Value::Bool(v)) => b.append_value(*v),
            (Builder::Time(b), Value::Time(v)) => b.append_option(*v),
            (Builder::Filters(b), Value::Filters(v)) => b.push(v),
            (Builder::Errors(b), Value::Errors(v)) => b.push(v),
            (Builder::ToolCalls(b), Value::ToolCalls(v)) => b.push(v),
            _ => {}
        }
    }

    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        Ok(match self {
            Builder::Str(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
            Builder::Filters(b) => b.finish()?,
            Builder::Errors(b) => b.finish()?,
            Builder::ToolCalls(b) => b.finish()?,
        })
    }
}

/// Rows being gathered into one record batch: at most the rows and bytes
/// the writer's limits allow, then taken with [`Batch::finish`].
#[derive(Debug)]
pub(crate) struct Batch {
    schema: SchemaRef,
    builders: Vec<Builder>,
    rows: usize,
    bytes: usize,
}

impl Batch {
    pub(crate) fn new() -> Batch {
        let builders = COLUMNS.iter().map(|c| Builder::new(c.kind)).collect();
        Batch { schema: schema(), builders, rows: 0, bytes: 0 }
    }

    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Appends one row of `bytes` (as [`Row::size`](crate::Row) counts them).
    pub(crate) fn push(&mut self, values: &[Value<'_>], bytes: usize) {
        for (b, v) in self.builders.iter_mut().zip(values) {
            b.push(v);
        }
        self.rows += 1;
        self.bytes += bytes;
    }

    /// The rows gathered so far, as a record batch; the batch is empty
    /// again.
    pub(crate) fn finish(&mut self) -> Result<RecordBatch, ArrowError> {
        let columns = self.builders.iter_mut().map(Builder::finish).collect::<Result<_, _>>()?;
        self.rows = 0;
        self.bytes = 0;
        RecordBatch::try_new(self.schema.clone(), columns)
    }
}
