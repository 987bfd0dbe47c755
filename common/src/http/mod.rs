//! Media types of the Mesos HTTP APIs and how a message is encoded in each.
//!
//! Pure functions over header values (no HTTP crate types), so master,
//! agent, SDK and CLI handlers share them:
//! - [`ContentType`]: the three media types and the codec for a message;
//! - [`negotiation`]: Content-Type checks, `Accept` / `Message-Accept`
//!   matching with q-values, as libprocess and the Mesos handlers do.

pub mod negotiation;

use prost::{Message, Name};

use crate::json::{self, JsonError};
use crate::proto::{ProtoDecodeError, decode_strict};
use crate::recordio;

pub const APPLICATION_JSON: &str = "application/json";
pub const APPLICATION_PROTOBUF: &str = "application/x-protobuf";
pub const APPLICATION_RECORDIO: &str = "application/recordio";

/// Header naming the media type of each record of a RecordIO body.
pub const MESSAGE_CONTENT_TYPE: &str = "Message-Content-Type";
/// Header naming the acceptable media types of each record of a RecordIO
/// response.
pub const MESSAGE_ACCEPT: &str = "Message-Accept";

/// A media type the Mesos APIs speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// `application/json`, in the Mesos JSON dialect.
    Json,
    /// `application/x-protobuf`.
    Protobuf,
    /// `application/recordio`: a stream whose records carry their own
    /// media type (`Message-Content-Type` / `Message-Accept`).
    RecordIo,
}

/// Why a body could not be encoded or decoded in a media type.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error(transparent)]
    Json(#[from] JsonError),
    #[error(transparent)]
    Protobuf(#[from] ProtoDecodeError),
    #[error("application/recordio frames records; name their media type instead")]
    Streaming,
}

impl ContentType {
    /// The media type string as sent in headers.
    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::Json => APPLICATION_JSON,
            ContentType::Protobuf => APPLICATION_PROTOBUF,
            ContentType::RecordIo => APPLICATION_RECORDIO,
        }
    }

    /// Parses a header value by *exact* comparison, as Mesos does:
    /// `application/json; charset=utf-8` is not `application/json`.
    pub fn from_exact(value: &str) -> Option<ContentType> {
        match value {
            APPLICATION_JSON => Some(ContentType::Json),
            APPLICATION_PROTOBUF => Some(ContentType::Protobuf),
            APPLICATION_RECORDIO => Some(ContentType::RecordIo),
            _ => None,
        }
    }

    /// Whether this type frames a stream of messages.
    pub fn is_streaming(self) -> bool {
        self == ContentType::RecordIo
    }

    /// Encodes one message in this media type.
    pub fn encode<M: Message + Name>(self, msg: &M) -> Result<Vec<u8>, CodecError> {
        match self {
            ContentType::Json => Ok(json::to_vec(msg)),
            ContentType::Protobuf => Ok(msg.encode_to_vec()),
            ContentType::RecordIo => Err(CodecError::Streaming),
        }
    }

    /// Encodes one message in this media type as a RecordIO record, the
    /// framing of every Mesos event stream (`<len>\n<message>`).
    pub fn encode_record<M: Message + Name>(self, msg: &M) -> Result<Vec<u8>, CodecError> {
        Ok(recordio::encode(&self.encode(msg)?))
    }

    /// Decodes one message in this media type. Protobuf input missing
    /// required fields is refused, as C++ `ParseFromString` does.
    pub fn decode<M: Message + Name + Default>(self, body: &[u8]) -> Result<M, CodecError> {
        match self {
            ContentType::Json => Ok(json::from_slice(body)?),
            ContentType::Protobuf => Ok(decode_strict(body)?),
            ContentType::RecordIo => Err(CodecError::Streaming),
        }
    }
}

/// Why a message stream could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Framing(#[from] recordio::RecordIoError),
    #[error("record {index}: {source}")]
    Message {
        /// Zero-based position of the bad record in the stream.
        index: u64,
        #[source]
        source: CodecError,
    },
}

/// Decodes a RecordIO stream of messages of one media type (an event
/// stream body: `SUBSCRIBE` responses, agent `ATTACH_CONTAINER_*`), fed
/// chunks as they arrive.
#[derive(Debug)]
pub struct MessageStreamDecoder<M> {
    records: recordio::Decoder,
    content: ContentType,
    decoded: u64,
    _message: std::marker::PhantomData<fn() -> M>,
}

impl<M: Message + Name + Default> MessageStreamDecoder<M> {
    /// `content` is the type of each record (JSON or protobuf);
    /// `record_bytes_max` bounds one record.
    pub fn new(content: ContentType, record_bytes_max: usize) -> MessageStreamDecoder<M> {
        MessageStreamDecoder {
            records: recordio::Decoder::new(record_bytes_max),
            content,
            decoded: 0,
            _message: std::marker::PhantomData,
        }
    }

    /// Decodes `chunk`, returning every message it completes.
    pub fn decode(&mut self, chunk: &[u8]) -> Result<Vec<M>, StreamError> {
        let records = self.records.decode(chunk)?;
        let mut messages = Vec::with_capacity(records.len());
        for record in records {
            let index = self.decoded;
            self.decoded += 1;
            let msg = self
                .content
                .decode(&record)
                .map_err(|source| StreamError::Message { index, source })?;
            messages.push(msg);
        }
        Ok(messages)
    }

    /// Call at the end of the stream: fails if it stopped mid-record.
    pub fn finish(&self) -> Result<(), StreamError> {
        Ok(self.records.finish()?)
    }
}

impl std::fmt::Display for ContentType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
