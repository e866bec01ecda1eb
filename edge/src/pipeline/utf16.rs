//! UTF-16 HTML: the one document encoding lol_html cannot read directly (it needs an encoding
//! in which ASCII is ASCII). Such a page is decoded to UTF-8 as it arrives, rewritten, and the
//! rewriter's output encoded back to UTF-16 in the page's own byte order, byte-order mark first,
//! so the browser reads what it would have read, with the URLs rewritten.

use super::html::{HtmlOutcome, HtmlStage};
use std::io::{self, Write};

/// The two byte orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    /// The byte order a UTF-16 byte-order mark at the start of `bytes` names.
    pub(crate) fn of_bom(bytes: &[u8]) -> Option<ByteOrder> {
        match bytes {
            [0xff, 0xfe, ..] => Some(ByteOrder::Little),
            [0xfe, 0xff, ..] => Some(ByteOrder::Big),
            _ => None,
        }
    }

    /// The byte order a charset label names, if it is UTF-16 (`utf-16` alone means little
    /// endian, as browsers read it).
    pub(crate) fn of_encoding(encoding: &'static encoding_rs::Encoding) -> Option<ByteOrder> {
        if encoding == encoding_rs::UTF_16LE {
            Some(ByteOrder::Little)
        } else if encoding == encoding_rs::UTF_16BE {
            Some(ByteOrder::Big)
        } else {
            None
        }
    }

    fn decoder(self) -> encoding_rs::Decoder {
        match self {
            ByteOrder::Little => encoding_rs::UTF_16LE.new_decoder_with_bom_removal(),
            ByteOrder::Big => encoding_rs::UTF_16BE.new_decoder_with_bom_removal(),
        }
    }
}

/// Decodes UTF-16 into the HTML stage (configured for UTF-8), whose output goes through
/// [`Utf16Writer`].
pub(crate) struct Utf16Html<W: Write> {
    decoder: encoding_rs::Decoder,
    decoded: String,
    html: HtmlStage<Utf16Writer<W>>,
}

impl<W: Write> Utf16Html<W> {
    pub(crate) fn new(html: HtmlStage<Utf16Writer<W>>, order: ByteOrder) -> Self {
        Utf16Html {
            decoder: order.decoder(),
            decoded: String::new(),
            html,
        }
    }

    fn feed(&mut self, bytes: &[u8], last: bool) -> io::Result<()> {
        let mut rest = bytes;
        loop {
            self.decoded.clear();
            self.decoded.reserve(
                self.decoder
                    .max_utf8_buffer_length(rest.len())
                    .unwrap_or(rest.len() * 3 + 16)
                    .min(64 * 1024),
            );
            let (result, read, _) = self.decoder.decode_to_string(rest, &mut self.decoded, last);
            self.html.write_all(self.decoded.as_bytes())?;
            rest = &rest[read..];
            if result == encoding_rs::CoderResult::InputEmpty {
                return Ok(());
            }
        }
    }

    /// The stage the UTF-16 output goes to.
    pub(crate) fn next_mut(&mut self) -> &mut W {
        &mut self.html.next_mut().next
    }

    pub(crate) fn finish(mut self) -> io::Result<(W, HtmlOutcome)> {
        self.feed(&[], true)?;
        let (writer, outcome) = self.html.finish()?;
        Ok((writer.finish()?, outcome))
    }
}

impl<W: Write> Write for Utf16Html<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.feed(buf, false)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.html.flush()
    }
}

/// Takes UTF-8 (in pieces that may cut a character in two) and writes UTF-16 in `order`,
/// starting with the byte-order mark.
pub(crate) struct Utf16Writer<W> {
    order: ByteOrder,
    next: W,
    bom_written: bool,
    partial: Vec<u8>,
    out: Vec<u8>,
}

impl<W: Write> Utf16Writer<W> {
    pub(crate) fn new(order: ByteOrder, next: W) -> Self {
        Utf16Writer {
            order,
            next,
            bom_written: false,
            partial: Vec::new(),
            out: Vec::new(),
        }
    }

    fn unit(&mut self, unit: u16) {
        let bytes = match self.order {
            ByteOrder::Little => unit.to_le_bytes(),
            ByteOrder::Big => unit.to_be_bytes(),
        };
        self.out.extend_from_slice(&bytes);
    }

    fn finish(mut self) -> io::Result<W> {
        self.write_all(&[])?;
        if !self.partial.is_empty() {
            // The rewriter writes whole characters by the end; anything else is a bug upstream.
            return Err(io::Error::other("UTF-8 ended in the middle of a character"));
        }
        Ok(self.next)
    }
}

impl<W: Write> Write for Utf16Writer<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.bom_written {
            self.bom_written = true;
            self.unit(0xfeff);
        }
        self.partial.extend_from_slice(buf);
        let whole = match std::str::from_utf8(&self.partial) {
            Ok(_) => self.partial.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(_) => {
                return Err(io::Error::other(
                    "the rewriter wrote bytes that are not UTF-8",
                ));
            }
        };
        let text =
            String::from_utf8(self.partial.drain(..whole).collect()).expect("checked to be UTF-8");
        for unit in text.encode_utf16() {
            self.unit(unit);
        }
        self.next.write_all(&self.out)?;
        self.out.clear();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.next.flush()
    }
}
