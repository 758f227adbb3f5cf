// src/client/editor/Terminal.cs: what the client must know about the terminal it writes to: whether to use colour, how
// wide text is on screen, and how to show a value that holds control characters without obeying them.
//
// A value may hold any character, so anyone can store an escape sequence; printed raw it would rewrite the
// reader's title bar or clear the screen. On a terminal such a value is shown quoted and escaped, as
// redis-cli does; redirected output keeps the exact bytes, because scripts rely on them.

using System.Globalization;
using System.Text;

namespace KV;

public static class Terminal
{
    public const string Reset = "\e[0m", Green = "\e[32m", Dim = "\e[2m", ClearToEnd = "\e[K", Bell = "\a";

    /// <summary>Colour only on a terminal, and never with NO_COLOR set (https://no-color.org).</summary>
    public static bool UseColour =>
        !Console.IsOutputRedirected && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));

    /// <summary>
    /// Columns a text takes on screen: wide (East Asian, emoji) characters take two, combining marks none.
    /// </summary>
    public static int Width(ReadOnlySpan<char> text)
    {
        var width = 0;
        while (!text.IsEmpty)
        {
            var length = StringInfo.GetNextTextElementLength(text);
            width += ElementWidth(text[..length]);
            text = text[length..];
        }
        return width;
    }

    /// <summary>One user-perceived character (a grapheme cluster): its first code point decides.</summary>
    public static int ElementWidth(ReadOnlySpan<char> element)
    {
        if (ShownAsMark(element)) return 1;
        if (Rune.DecodeFromUtf16(element, out var rune, out _) != System.Buffers.OperationStatus.Done) return 1;
        if (element.Length > rune.Utf16SequenceLength
            && element[rune.Utf16SequenceLength..].Contains('\uFE0F')) return 2;
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.NonSpacingMark or UnicodeCategory.EnclosingMark or UnicodeCategory.Format => 0,
            _ when IsWide(rune.Value) => 2,
            _ => 1,
        };
    }

    private static bool IsWide(int c) =>
        c is >= 0x1100 and <= 0x115F or >= 0x2E80 and <= 0x303E or >= 0x3041 and <= 0x33FF or >= 0x3400 and <= 0x4DBF
            or >= 0x4E00 and <= 0x9FFF or >= 0xA000 and <= 0xA4CF or >= 0xAC00 and <= 0xD7A3 or >= 0xF900 and <= 0xFAFF
            or >= 0xFE30 and <= 0xFE4F or >= 0xFF00 and <= 0xFF60 or >= 0xFFE0 and <= 0xFFE6
            or >= 0x1F300 and <= 0x1F64F
            or >= 0x1F900 and <= 0x1F9FF or >= 0x1FA70 and <= 0x1FAFF or >= 0x20000 and <= 0x3FFFD;

    /// <summary>
    /// The text itself when it is plain printable text that does not begin with a double quote; otherwise the
    /// text in double quotes with redis-cli's escapes: \" \\ \t \n \r, and \xNN for each UTF-8 byte of any
    /// character a terminal would obey or not show (a control, a bidirectional control, a zero-width space).
    /// So a stored "a\x1b" typed literally and a value that holds a real ESC never look the same.
    /// `always` asks for the quoted form whatever the text (a key with a space).
    /// </summary>
    public static string Visible(string text, bool always = false)
    {
        if (!always && !text.StartsWith('"') && !HasHidden(text)) return text;
        var quoted = new StringBuilder("\"");
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c is '"' or '\\') quoted.Append('\\').Append(c);
            else if (c == '\t') quoted.Append("\\t");
            else if (c == '\n') quoted.Append("\\n");
            else if (c == '\r') quoted.Append("\\r");
            else if (Hidden(text, i))
                foreach (var b in utf8[..Encoding.UTF8.GetBytes([c], utf8)]) quoted.Append($"\\x{b:x2}");
            else quoted.Append(c);
        }
        return quoted.Append('"').ToString();
    }

    /// <summary>
    /// Bytes as a terminal may show them: text as Visible(string) shows it; bytes that are not UTF-8 quoted with
    /// every byte past ASCII escaped, since no character of them can be trusted to show as itself.
    /// </summary>
    public static string Visible(byte[] bytes, bool always = false) => System.Text.Unicode.Utf8.IsValid(bytes)
        ? Visible(Encoding.UTF8.GetString(bytes), always) : QuotedForm.Quote(bytes, asciiOnly: true);

    /// <summary>A key as a terminal shows it: quoted, as it is typed, when it is not one plain word.</summary>
    public static string VisibleKey(byte[] key) => Visible(key, always: !QuotedForm.IsPlainKey(key));

    /// <summary>Whether any character of the text is one a terminal would obey or not show.</summary>
    public static bool HasHidden(string text) => Enumerable.Range(0, text.Length).Any(i => Hidden(text, i));

    /// <summary>
    /// Whether the character at `i` is one a terminal obeys or does not show: a control (a tab too: it shows as
    /// spaces), or a format character such as a bidirectional override or a zero-width space; but not the joiner
    /// inside an emoji sequence, which the emoji needs.
    /// </summary>
    private static bool Hidden(string text, int i)
    {
        var c = text[i];
        if (char.IsControl(c)) return true;
        if (CharUnicodeInfo.GetUnicodeCategory(c)
            is not (UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator))
            return false;
        return !(c == '\u200D' && i > 0 && char.IsLowSurrogate(text[i - 1]));
    }

    /// <summary>
    /// Whether the line editor shows this character (a text element of its own) as a mark instead of writing it: a
    /// bidirectional control would reorder the line being typed, a zero-width space or a line separator would not be
    /// seen at all. The character itself is kept in the line and sent.
    /// </summary>
    public static bool ShownAsMark(ReadOnlySpan<char> element) =>
        !element.IsEmpty && CharUnicodeInfo.GetUnicodeCategory(element[0])
            is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator;
}
