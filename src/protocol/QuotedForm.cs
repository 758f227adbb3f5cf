// src/protocol/QuotedForm.cs: how KV's line protocol carries any bytes. A key or value that a line cannot hold
// plainly (a line break, a control character, bytes that are not UTF-8, a key with a space) travels as one
// double-quoted string with redis-cli's escapes, in requests and in replies; plain text travels as it is.
//
// The grammar (docs/reference.md): `"` then any bytes but `"` and `\`, or an escape (`\"` `\\` `\n` `\r` `\t`
// `\a` `\b`, `\xHH` for any byte), then `"`, then a space or the end of the line. Any other escape is an error,
// so that a typo never stores something else. Protocol.cs includes it: the server writes the form, the client
// reads it back and the parser (RequestParser) decodes it.

using System.Buffers;
using System.Text;
using System.Text.Unicode;

namespace KV;

public static class QuotedForm
{
    public const string Grammar = "a quoted string is \"...\" with the escapes \\\" \\\\ \\n \\r \\t \\a \\b \\xHH";

    /// <summary>
    /// A value a line carries plainly: valid UTF-8 with no control character but the tab, not starting with a quote.
    /// Printable ASCII, the common case, is decided by one vectorized search.
    /// </summary>
    public static bool IsPlainValue(ReadOnlySpan<byte> value)
    {
        if (!value.IsEmpty && value[0] == '"') return false;
        return value.IndexOfAnyExceptInRange((byte)' ', (byte)'~') < 0 || IsPlainText(value, spacesAllowed: true);
    }

    /// <summary>
    /// A key a line carries plainly: one word of valid UTF-8 with no whitespace or control character, not starting
    /// with a quote, nor with `--` (which reads as a flag).
    /// </summary>
    public static bool IsPlainKey(ReadOnlySpan<byte> key)
    {
        if (key.IsEmpty || key[0] == '"' || key.StartsWith("--"u8)) return false;
        return key.IndexOfAnyExceptInRange((byte)'!', (byte)'~') < 0 || IsPlainText(key, spacesAllowed: false);
    }

    private static bool IsPlainText(ReadOnlySpan<byte> text, bool spacesAllowed)
    {
        if (!Utf8.IsValid(text)) return false;
        while (!text.IsEmpty)
        {
            Rune.DecodeFromUtf8(text, out var rune, out var used);
            if (spacesAllowed ? Rune.IsControl(rune) && rune.Value != '\t'
                : Rune.IsControl(rune) || Rune.IsWhiteSpace(rune)) return false;
            text = text[used..];
        }
        return true;
    }

    /// <summary>A value as a reply line carries it: as it is when plain, else quoted.</summary>
    public static void WriteValue(IBufferWriter<byte> output, ReadOnlySpan<byte> value)
    {
        if (IsPlainValue(value)) output.Write(value);
        else Write(output, value);
    }

    /// <summary>A key as a reply line carries it: as it is when plain, else quoted.</summary>
    public static void WriteKey(IBufferWriter<byte> output, ReadOnlySpan<byte> key)
    {
        if (IsPlainKey(key)) output.Write(key);
        else Write(output, key);
    }

    /// <summary>
    /// The bytes in quotes: a character of valid UTF-8 that is not a control stays as it is (`Zürich`); the
    /// escapes for the rest, `\xHH` for a byte that has no other. `asciiOnly` escapes every byte past ASCII too,
    /// as Redis's MONITOR does and as a terminal needs for bytes that are not UTF-8.
    /// </summary>
    public static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes, bool asciiOnly = false)
    {
        output.Write("\""u8);
        while (!bytes.IsEmpty)
        {
            // A piece at a time, so that a large value is written in ordinary blocks; never inside a character.
            var take = Math.Min(bytes.Length, PieceBytes);
            while (take < bytes.Length && take > PieceBytes - 4 && (bytes[take] & 0xC0) == 0x80) take--;
            // At most four bytes out for each byte in (`\xHH`).
            output.Advance(Escape(bytes[..take], output.GetSpan(take * 4), asciiOnly));
            bytes = bytes[take..];
        }
        output.Write("\""u8);
    }

    private const int PieceBytes = 4096;

    private static int Escape(ReadOnlySpan<byte> bytes, Span<byte> span, bool asciiOnly)
    {
        var written = 0;
        while (!bytes.IsEmpty)
        {
            var status = Rune.DecodeFromUtf8(bytes, out var rune, out var used);
            if (!asciiOnly && status == OperationStatus.Done && rune.Value >= 0x80 && !Rune.IsControl(rune))
            {
                bytes[..used].CopyTo(span[written..]);
                written += used;
                bytes = bytes[used..];
                continue;
            }
            var b = bytes[0];
            bytes = bytes[1..];
            var escape = b switch
            {
                (byte)'"' => (byte)'"', (byte)'\\' => (byte)'\\', (byte)'\n' => (byte)'n', (byte)'\r' => (byte)'r',
                (byte)'\t' => (byte)'t', 7 => (byte)'a', 8 => (byte)'b', _ => (byte)0,
            };
            if (escape != 0)
            {
                span[written++] = (byte)'\\';
                span[written++] = escape;
            }
            else if (b is >= 0x20 and < 0x7F) span[written++] = b;
            else
            {
                span[written++] = (byte)'\\';
                span[written++] = (byte)'x';
                span[written++] = (byte)"0123456789abcdef"[b >> 4];
                span[written++] = (byte)"0123456789abcdef"[b & 0xF];
            }
        }
        return written;
    }

    /// <summary>The quoted form of any bytes, as text (the client, the tests).</summary>
    public static string Quote(ReadOnlySpan<byte> bytes, bool asciiOnly = false)
    {
        var buffer = new ArrayBufferWriter<byte>(bytes.Length + 2);
        Write(buffer, bytes, asciiOnly);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Reads the quoted string at the start of `text` (which starts with `"`): its bytes, and how much of the text
    /// it took, closing quote included. Null, with the reason, when it is malformed or is followed by anything but
    /// a space or the end.
    /// </summary>
    public static byte[]? TryRead(ReadOnlySpan<byte> text, out int consumed, out string? error)
    {
        // Never longer than the text it came from.
        var decoded = new byte[text.Length];
        var length = 0;
        consumed = 0;
        for (var i = 1; i < text.Length; i++)
        {
            var b = text[i];
            if (b == '"')
            {
                error = i + 1 < text.Length && text[i + 1] != ' '
                    ? Errors.Quoted("the closing quote must be followed by a space or the end of the line") : null;
                consumed = i + 1;
                return error is null ? decoded[..length] : null;
            }
            if (b != '\\')
            {
                decoded[length++] = b;
                continue;
            }
            if (++i == text.Length) break;
            byte? unescaped = text[i] switch
            {
                (byte)'"' => (byte)'"', (byte)'\\' => (byte)'\\', (byte)'n' => (byte)'\n', (byte)'r' => (byte)'\r',
                (byte)'t' => (byte)'\t', (byte)'a' => 7, (byte)'b' => 8,
                (byte)'x' when i + 2 < text.Length && IsHex(text[i + 1]) && IsHex(text[i + 2]) =>
                    (byte)(HexValue(text[i + 1]) << 4 | HexValue(text[i + 2])),
                _ => null,
            };
            if (unescaped is not { } value)
            {
                var shown = text.Slice(i, Math.Min(text[i] == 'x' ? 3 : 1, text.Length - i));
                error = Errors.Quoted($"unknown escape '\\{Errors.Echo(shown)}'");
                return null;
            }
            decoded[length++] = value;
            if (text[i] == 'x') i += 2;
        }
        error = Errors.Quoted("the closing quote is missing");
        return null;
    }

    /// <summary>
    /// A word of a reply as the bytes it stands for: a quoted one decoded, a plain one as it is (the client).
    /// </summary>
    public static byte[] Decode(string word)
    {
        var bytes = Encoding.UTF8.GetBytes(word);
        return bytes is [(byte)'"', ..] && TryRead(bytes, out var used, out _) is { } decoded && used == bytes.Length
            ? decoded : bytes;
    }

    /// <summary>
    /// The first word of a reply line and the rest after its space: a quoted word may hold spaces (the client reads
    /// `MESSAGE "a b" hello` with it).
    /// </summary>
    public static (string Word, string After) SplitWord(string line)
    {
        var end = line.IndexOf(' ');
        if (line.StartsWith('"') && Encoding.UTF8.GetBytes(line) is var bytes
            && TryRead(bytes, out var used, out _) is not null)
            end = Encoding.UTF8.GetCharCount(bytes.AsSpan(0, used));
        return end < 0 || end >= line.Length ? (line, "") : (line[..end], line[(end + 1)..]);
    }

    /// <summary>A hex digit, either case (also RESP's inline quotes, which take the same `\xHH`).</summary>
    public static bool IsHex(byte b) => char.IsAsciiHexDigit((char)b);

    public static int HexValue(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;
}
