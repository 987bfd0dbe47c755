//! RecordIO framing, as Mesos streams events: each record is its length in
//! ASCII decimal, a newline, then exactly that many bytes (`5\nhello`).
//!
//! [`encode`] frames one record. [`Decoder`] is a sans-IO streaming decoder
//! fed arbitrary chunks (a record or its length may span any number of
//! reads) with two bounds: the length prefix may not exceed
//! [`LENGTH_PREFIX_BYTES_MAX`] bytes and a record may not exceed the
//! caller's `record_bytes_max`. A violation is a typed error after which
//! the decoder stays failed, as stout's decoder does. Zero-length records
//! are accepted and yield an empty record.

/// Digits in `u64::MAX`: no valid length prefix is longer.
pub const LENGTH_PREFIX_BYTES_MAX: usize = 20;

/// A reasonable `record_bytes_max` for event streams: a master `SUBSCRIBED`
/// event carries the whole cluster state, so this is generous.
pub const DEFAULT_RECORD_BYTES_MAX: usize = 256 * 1024 * 1024;

/// Initial buffer reservation for a record, so a claimed length cannot make
/// us allocate memory its bytes never arrive for.
const RECORD_RESERVE_BYTES_MAX: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordIoError {
    #[error("invalid RecordIO length prefix {prefix:?}: expecting decimal digits")]
    InvalidLength { prefix: String },
    #[error("RecordIO length prefix longer than {max} bytes")]
    LengthPrefixTooLong { max: usize },
    #[error("RecordIO record of {length} bytes exceeds the limit of {max} bytes")]
    RecordTooLarge { length: u64, max: usize },
    #[error("RecordIO stream ended inside a record ({received} of {length} bytes)")]
    TruncatedRecord { received: usize, length: usize },
    #[error("RecordIO stream ended inside a length prefix")]
    TruncatedLength,
    #[error("RecordIO decoder failed earlier: {0}")]
    Failed(Box<RecordIoError>),
}

/// Frames `record` as `<len>\n<record>`.
pub fn encode(record: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(record.len() + 12);
    encode_into(&mut out, record);
    out
}

/// Appends `<len>\n<record>` to `out`.
pub fn encode_into(out: &mut Vec<u8>, record: &[u8]) {
    out.extend_from_slice(record.len().to_string().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(record);
}

#[derive(Debug)]
enum State {
    /// Reading digits of the length; `buf` holds them.
    Length,
    /// Reading a record of `length` bytes; `buf` holds those received.
    Record {
        length: usize,
    },
    Failed(RecordIoError),
}

/// Streaming RecordIO decoder.
#[derive(Debug)]
pub struct Decoder {
    state: State,
    buf: Vec<u8>,
    record_bytes_max: usize,
}

impl Decoder {
    pub fn new(record_bytes_max: usize) -> Decoder {
        Decoder {
            state: State::Length,
            buf: Vec::new(),
            record_bytes_max,
        }
    }

    /// Decodes `chunk`, returning every record it completes.
    pub fn decode(&mut self, chunk: &[u8]) -> Result<Vec<Vec<u8>>, RecordIoError> {
        let mut records = Vec::new();
        self.decode_into(chunk, &mut records)?;
        Ok(records)
    }

    /// Decodes `chunk`, appending every record it completes to `records`.
    /// On error, records completed before the bad part are still appended.
    pub fn decode_into(
        &mut self,
        mut chunk: &[u8],
        records: &mut Vec<Vec<u8>>,
    ) -> Result<(), RecordIoError> {
        while !chunk.is_empty() {
            match self.state {
                State::Failed(ref e) => return Err(RecordIoError::Failed(Box::new(e.clone()))),
                State::Length => {
                    let newline = chunk.iter().position(|&b| b == b'\n');
                    let digits = &chunk[..newline.unwrap_or(chunk.len())];
                    if self.buf.len() + digits.len() > LENGTH_PREFIX_BYTES_MAX {
                        return Err(self.fail(RecordIoError::LengthPrefixTooLong {
                            max: LENGTH_PREFIX_BYTES_MAX,
                        }));
                    }
                    self.buf.extend_from_slice(digits);
                    let Some(newline) = newline else {
                        return Ok(());
                    };
                    chunk = &chunk[newline + 1..];
                    let length = self.parse_length()?;
                    self.buf.clear();
                    if length == 0 {
                        records.push(Vec::new());
                    } else {
                        self.buf.reserve(length.min(RECORD_RESERVE_BYTES_MAX));
                        self.state = State::Record { length };
                    }
                }
                State::Record { length } => {
                    let want = length - self.buf.len();
                    let take = want.min(chunk.len());
                    if self.buf.is_empty() && take == length {
                        // The whole record is in this chunk: one copy.
                        records.push(chunk[..take].to_vec());
                    } else {
                        self.buf.extend_from_slice(&chunk[..take]);
                        if self.buf.len() == length {
                            records.push(std::mem::take(&mut self.buf));
                        }
                    }
                    chunk = &chunk[take..];
                    if take == want {
                        self.state = State::Length;
                    }
                }
            }
        }
        Ok(())
    }

    /// Call at the end of the stream: fails if it stopped mid-record.
    pub fn finish(&self) -> Result<(), RecordIoError> {
        match &self.state {
            State::Failed(e) => Err(RecordIoError::Failed(Box::new(e.clone()))),
            State::Length if self.buf.is_empty() => Ok(()),
            State::Length => Err(RecordIoError::TruncatedLength),
            State::Record { length } => Err(RecordIoError::TruncatedRecord {
                received: self.buf.len(),
                length: *length,
            }),
        }
    }

    /// Bytes held for an incomplete record or length.
    pub fn buffered_bytes(&self) -> usize {
        self.buf.len()
    }

    fn parse_length(&mut self) -> Result<usize, RecordIoError> {
        let digits = &self.buf;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            let prefix = String::from_utf8_lossy(digits).into_owned();
            return Err(self.fail(RecordIoError::InvalidLength { prefix }));
        }
        // At most 20 digits: parse as u128 so u64 overflow is caught below.
        let value = digits
            .iter()
            .fold(0u128, |acc, d| acc * 10 + u128::from(d - b'0'));
        match usize::try_from(value) {
            Ok(length) if length <= self.record_bytes_max => Ok(length),
            _ => {
                let length = u64::try_from(value).unwrap_or(u64::MAX);
                let max = self.record_bytes_max;
                Err(self.fail(RecordIoError::RecordTooLarge { length, max }))
            }
        }
    }

    fn fail(&mut self, e: RecordIoError) -> RecordIoError {
        self.state = State::Failed(e.clone());
        self.buf = Vec::new();
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_length_newline_payload() {
        assert_eq!(encode(b"hello"), b"5\nhello");
        assert_eq!(encode(b""), b"0\n");
    }

    #[test]
    fn decodes_records_split_anywhere() {
        let stream = [encode(b"hello"), encode(b""), encode(b"world!")].concat();
        for split in 0..=stream.len() {
            let mut d = Decoder::new(100);
            let mut records = d.decode(&stream[..split]).unwrap();
            records.extend(d.decode(&stream[split..]).unwrap());
            assert_eq!(records, vec![b"hello".to_vec(), vec![], b"world!".to_vec()]);
            d.finish().unwrap();
        }
    }

    #[test]
    fn byte_by_byte() {
        let stream = [encode(b"ab"), encode(b"c")].concat();
        let mut d = Decoder::new(100);
        let mut records = Vec::new();
        for b in &stream {
            d.decode_into(std::slice::from_ref(b), &mut records)
                .unwrap();
        }
        assert_eq!(records, vec![b"ab".to_vec(), b"c".to_vec()]);
    }

    #[test]
    fn bad_length_prefixes_fail_and_stay_failed() {
        let mut d = Decoder::new(100);
        assert_eq!(
            d.decode(b"1x\nabc"),
            Err(RecordIoError::InvalidLength {
                prefix: "1x".into()
            })
        );
        assert!(matches!(d.decode(b"1\na"), Err(RecordIoError::Failed(_))));
        assert!(d.finish().is_err());

        let mut d = Decoder::new(100);
        assert!(matches!(
            d.decode(b"\nabc"),
            Err(RecordIoError::InvalidLength { .. })
        ));
        let mut d = Decoder::new(100);
        assert!(matches!(
            d.decode(b"-1\n"),
            Err(RecordIoError::InvalidLength { .. })
        ));
        let mut d = Decoder::new(100);
        assert!(matches!(
            d.decode(b" 5\nhello"),
            Err(RecordIoError::InvalidLength { .. })
        ));
    }

    #[test]
    fn length_prefix_is_bounded_without_a_newline() {
        let mut d = Decoder::new(100);
        d.decode(b"0000000000").unwrap();
        assert_eq!(
            d.decode(b"00000000000"),
            Err(RecordIoError::LengthPrefixTooLong {
                max: LENGTH_PREFIX_BYTES_MAX
            })
        );
    }

    #[test]
    fn oversized_records_are_refused_before_buffering() {
        let mut d = Decoder::new(10);
        assert_eq!(
            d.decode(b"11\n"),
            Err(RecordIoError::RecordTooLarge {
                length: 11,
                max: 10
            })
        );
        let mut d = Decoder::new(10);
        assert_eq!(
            d.decode(b"99999999999999999999\n"),
            Err(RecordIoError::RecordTooLarge {
                length: u64::MAX,
                max: 10
            })
        );
        let mut d = Decoder::new(10);
        assert_eq!(
            d.decode(b"10\n0123456789").unwrap(),
            vec![b"0123456789".to_vec()]
        );
    }

    #[test]
    fn finish_reports_truncation() {
        let mut d = Decoder::new(100);
        d.decode(b"5\nhel").unwrap();
        assert_eq!(
            d.finish(),
            Err(RecordIoError::TruncatedRecord {
                received: 3,
                length: 5
            })
        );
        let mut d = Decoder::new(100);
        d.decode(b"12").unwrap();
        assert_eq!(d.finish(), Err(RecordIoError::TruncatedLength));
    }
}
