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

    /// <summary>Columns a text takes on screen: wide (East Asian, emoji) characters take two, combining marks none.</summary>
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
        if (Rune.DecodeFromUtf16(element, out var rune, out _) != System.Buffers.OperationStatus.Done) return 1;
        if (element.Length > rune.Utf16SequenceLength && element[rune.Utf16SequenceLength..].Contains('\uFE0F')) return 2;
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
            or >= 0xFE30 and <= 0xFE4F or >= 0xFF00 and <= 0xFF60 or >= 0xFFE0 and <= 0xFFE6 or >= 0x1F300 and <= 0x1F64F
            or >= 0x1F900 and <= 0x1F9FF or >= 0x1FA70 and <= 0x1FAFF or >= 0x20000 and <= 0x3FFFD;

    /// <summary>
    /// The text itself when a terminal can show it as it is; otherwise the text in double quotes with every
    /// control character (tab aside) and bidirectional override written as an escape: "a\x1b]0;x\x07".
    /// </summary>
    public static string Visible(string text)
    {
        if (!text.Any(MustEscape)) return text;
        var quoted = new StringBuilder("\"");
        foreach (var c in text)
        {
            quoted.Append(c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\n' => "\\n",
                '\r' => "\\r",
                _ when MustEscape(c) => c <= 0xFF ? $"\\x{(int)c:x2}" : $"\\u{(int)c:x4}",
                _ => c.ToString(),
            });
        }
        return quoted.Append('"').ToString();
    }

    /// <summary>A character a terminal would obey rather than show: a control character (tab aside) or a bidirectional override.</summary>
    public static bool MustEscape(char c) => (char.IsControl(c) && c != '\t') || c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069';
}
