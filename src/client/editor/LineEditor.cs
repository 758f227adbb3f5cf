// src/client/editor/LineEditor.cs: the client's line editor at a terminal: keys in, one line out, the screen kept in
// step.
//
// Written over Console.ReadKey rather than RadLine (see docs/how-it-works.md, "The line editor"): a redraw of one row
// per key, scrolled sideways when the line is wider than the terminal, as redis-cli's linenoise does. Keys: Left/Right,
// by words with Ctrl or Alt (and Alt+B/F), Home/End and Ctrl+A/E, Backspace/Delete, Ctrl+W/U/K, Up/Down (history), Tab
// (completion), Ctrl+L (clear), Ctrl+C and Ctrl+D on an empty line (end). No key puts an invisible control character
// into the line: a tab, the one allowed (in a `set` VALUE), is drawn as a dim arrow.

using System.Runtime.InteropServices;
using System.Text;

namespace KV;

public sealed class LineEditor(History history, Func<ConsoleKeyInfo> readKey, TextWriter screen, Func<int> columns,
    bool colour)
{
    private const char EndOfTransmission = '\x04';
    private readonly Lock drawing = new();
    private (string Prompt, EditBuffer Line)? editing;
    private bool ownsConsole;
    private PosixSignalRegistration? resized;

    /// <summary>
    /// The editor on this process's terminal; a resize of the terminal redraws the line being edited.
    /// </summary>
    public static LineEditor ForConsole(History history)
    {
        var editor = new LineEditor(history, ReadConsoleKey, Console.Out, () => Console.WindowWidth,
            Terminal.UseColour) { ownsConsole = true };
        if (!OperatingSystem.IsWindows())
            editor.resized = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => editor.Redraw());
        return editor;
    }

    /// <summary>
    /// The terminal changed size: the row is drawn again at the new width, without waiting for a key.
    /// </summary>
    private void Redraw()
    {
        lock (drawing)
            if (editing is var (prompt, line)) Render(prompt, line, hint: true);
    }

    private static ConsoleKeyInfo ReadConsoleKey()
    {
        try
        {
            return Console.ReadKey(intercept: true);
        }
        catch (InvalidOperationException)
        {
            // The terminal went away: the same as Ctrl+D.
            return new ConsoleKeyInfo(EndOfTransmission, ConsoleKey.D, shift: false, alt: false, control: true);
        }
    }

    /// <summary>
    /// One line as typed, or null when the user ends the session (Ctrl+D on an empty line, or Ctrl+C).
    /// </summary>
    public string? ReadLine(string prompt)
    {
        // Ctrl+C is a key while a line is edited (it ends the session cleanly), a signal while a reply is awaited.
        if (ownsConsole) Console.TreatControlCAsInput = true;
        try
        {
            return Edit(prompt);
        }
        finally
        {
            if (ownsConsole) Console.TreatControlCAsInput = false;
        }
    }

    private string? Edit(string prompt)
    {
        var line = new EditBuffer();
        history.Restart();
        lock (drawing)
        {
            editing = (prompt, line);
            Render(prompt, line, hint: true);
        }
        try
        {
            return EditKeys(prompt, line);
        }
        finally
        {
            lock (drawing) editing = null;
        }
    }

    private string? EditKeys(string prompt, EditBuffer line)
    {
        char? highSurrogate = null;
        while (true)
        {
            var key = readKey();
            // Under the lock a resize's redraw takes too: it never sees the line half changed.
            lock (drawing)
            {
                if (highSurrogate is { } high)
                {
                    highSurrogate = null;
                    if (char.IsLowSurrogate(key.KeyChar))
                    {
                        line.Insert(string.Concat(high, key.KeyChar));
                        Render(prompt, line, hint: true);
                        continue;
                    }
                }
                switch (key.Key, key.KeyChar)
                {
                    case (ConsoleKey.Enter, _):
                        Finish(prompt, line);
                        editing = null;
                        return line.Text;
                    case (_, '\x03'):
                    case (_, EndOfTransmission) when line.IsEmpty:
                        Finish(prompt, line);
                        editing = null;
                        return null;
                    case (ConsoleKey.LeftArrow, _) when WordKey(key):
                    case (ConsoleKey.B, _) when key.Modifiers.HasFlag(ConsoleModifiers.Alt):
                        line.WordLeft();
                        break;
                    case (ConsoleKey.RightArrow, _) when WordKey(key):
                    case (ConsoleKey.F, _) when key.Modifiers.HasFlag(ConsoleModifiers.Alt):
                        line.WordRight();
                        break;
                    case (ConsoleKey.LeftArrow, _) or (_, '\x02'): line.Left(); break;
                    case (ConsoleKey.RightArrow, _) or (_, '\x06'): line.Right(); break;
                    case (ConsoleKey.Home, _) or (_, '\x01'): line.Home(); break;
                    case (ConsoleKey.End, _) or (_, '\x05'): line.End(); break;
                    case (ConsoleKey.Backspace, _): line.Backspace(); break;
                    case (ConsoleKey.Delete, _) or (_, EndOfTransmission): line.Delete(); break;
                    case (_, '\x17'): line.DeleteWordBefore(); break;
                    case (_, '\x15'): line.DeleteToStart(); break;
                    case (_, '\x0b'): line.DeleteToEnd(); break;
                    case (ConsoleKey.UpArrow, _) or (_, '\x10'):
                        if (history.Previous(line.Text) is { } older) line.Set(older);
                        break;
                    case (ConsoleKey.DownArrow, _) or (_, '\x0e'):
                        if (history.Next() is { } newer) line.Set(newer);
                        break;
                    case (ConsoleKey.Tab, _) or (_, '\t'):
                        Complete(prompt, line);
                        break;
                    case (_, '\x0c'):
                        screen.Write("\e[H\e[2J");
                        break;
                    case (_, var c) when char.IsHighSurrogate(c):
                        highSurrogate = c;
                        continue;
                    case (_, var c) when !char.IsControl(c) && !char.IsSurrogate(c):
                        line.Insert(c.ToString());
                        break;
                    default:
                        continue; // a key with no meaning here (F1, Insert, a lone control character): nothing changes
                }
                Render(prompt, line, hint: true);
            }
        }
    }

    private void Complete(string prompt, EditBuffer line)
    {
        switch (Completion.For(line.Text, line.Cursor))
        {
            case Completion.TabCharacter:
                line.Insert("\t");
                break;
            case Completion.Completed(var text, var cursor):
                line.Set(text, cursor);
                break;
            case Completion.Choices(var words):
                Finish(prompt, line, keepCursor: true);
                screen.Write(string.Join("  ", words) + "\r\n");
                break;
            default:
                screen.Write(Terminal.Bell);
                break;
        }
    }

    /// <summary>The line as it stays on screen (no hint), and the cursor on the next row.</summary>
    private void Finish(string prompt, EditBuffer line, bool keepCursor = false)
    {
        var cursor = line.Cursor;
        line.End();
        Render(prompt, line, hint: false);
        screen.Write("\r\n");
        screen.Flush();
        if (keepCursor) line.Set(line.Text, cursor);
    }

    /// <summary>
    /// Redraws the row: the prompt, the part of the line that fits around the cursor, the hint, then puts the
    /// cursor in place. One write per key, so the terminal never shows half a redraw.
    /// </summary>
    private void Render(string prompt, EditBuffer line, bool hint)
    {
        var text = line.Text;
        var promptWidth = Terminal.Width(prompt);
        // A pseudo-terminal nobody sized reports 0 columns: assume the classic 80.
        var room = (columns() is > 0 and var width ? Math.Max(width, 20) : 80) - promptWidth - 1;
        var start = VisibleStart(text, line.Cursor, room);
        var (end, shown) = (start, 0);
        for (var next = 0;
            end < text.Length && shown + Terminal.Width(text.AsSpan(end, next = NextElement(text, end))) <= room;
            end += next)
            shown += Terminal.Width(text.AsSpan(end, next));

        var row = new StringBuilder("\r").Append(prompt);
        Paint(row, text, start, end);
        if (hint && colour && line.AtEnd && end == text.Length && Completion.Hint(text) is { Length: > 0 } usage)
        {
            var left = room - Terminal.Width(text.AsSpan(start));
            if (usage.Length <= left) row.Append(Terminal.Dim).Append(usage).Append(Terminal.Reset);
        }
        row.Append(Terminal.ClearToEnd).Append('\r');
        var column = promptWidth + Terminal.Width(text.AsSpan(start, line.Cursor - start));
        if (column > 0) row.Append($"\e[{column}C");
        screen.Write(row.ToString());
        screen.Flush();
    }

    /// <summary>
    /// The visible slice, a character (text element) at a time: a known command word in green, each tab as a dim
    /// arrow, each bidirectional or zero-width character as a dim mark (see Terminal.ShownAsMark).
    /// </summary>
    private void Paint(StringBuilder row, string text, int start, int end)
    {
        var wordEnd = text.IndexOf(' ') is var space and >= 0 ? space : text.Length;
        var known = colour && start == 0 && Commands.Find(text[..wordEnd]) is not null;
        if (known) row.Append(Terminal.Green);
        for (var (i, next) = (start, 0); i < end; i += next)
        {
            next = NextElement(text, i);
            if (known && i == wordEnd)
            {
                row.Append(Terminal.Reset);
                known = false;
            }
            var element = text.AsSpan(i, next);
            if (element[0] == '\t') row.Append(Dimmed("→"));
            else if (Terminal.ShownAsMark(element)) row.Append(Dimmed("·"));
            else row.Append(element);
        }
        if (known) row.Append(Terminal.Reset);
    }

    private string Dimmed(string mark) => colour ? Terminal.Dim + mark + Terminal.Reset : mark;

    /// <summary>An arrow with Ctrl or Alt moves by words, as in readline.</summary>
    private static bool WordKey(ConsoleKeyInfo key)
        => (key.Modifiers & (ConsoleModifiers.Control | ConsoleModifiers.Alt)) != 0;

    /// <summary>
    /// Where the visible part begins: as far left of the cursor as fits in `room` columns. Measured from the cursor
    /// back, over the few characters that can fit, so a key costs the same whatever the line's length.
    /// </summary>
    private static int VisibleStart(string text, int cursor, int room)
    {
        // A column holds at least one char, a character at most 64: more than this cannot fit.
        var from = Math.Max(0, cursor - 2 * room - 64);
        if (from > 0 && char.IsLowSurrogate(text[from])) from--;
        var starts = new List<int>();
        for (var at = from; at < cursor; at += NextElement(text, at)) starts.Add(at);
        var (start, width) = (cursor, 0);
        for (var i = starts.Count - 1; i >= 0; i--)
        {
            width += Terminal.Width(text.AsSpan(starts[i], start - starts[i]));
            if (width > room) break;
            start = starts[i];
        }
        return start;
    }

    private static int NextElement(string text, int index) =>
        System.Globalization.StringInfo.GetNextTextElementLength(text.AsSpan(index));
}
