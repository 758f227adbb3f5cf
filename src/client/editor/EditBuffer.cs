// src/client/editor/EditBuffer.cs: the line being edited and the cursor in it, with every editing operation of the line
// editor. No terminal here: each operation is a plain function of the text, so the tests call them directly.
//
// The cursor moves, and Backspace and Delete remove, one whole user-perceived character (a grapheme
// cluster): an emoji is never split into half a surrogate pair, an accent never left without its letter.

using System.Globalization;

namespace KV;

public sealed class EditBuffer
{
    public string Text { get; private set; } = "";
    public int Cursor { get; private set; }
    public bool IsEmpty => Text.Length == 0;
    public bool AtEnd => Cursor == Text.Length;

    /// <summary>
    /// Replaces the whole line (a history entry, a completion) and puts the cursor where given, or at the end.
    /// </summary>
    public void Set(string text, int? cursor = null)
    {
        Text = text;
        Cursor = Math.Clamp(cursor ?? text.Length, 0, text.Length);
    }

    public void Insert(string text)
    {
        Text = Text.Insert(Cursor, text);
        Cursor += text.Length;
    }

    public void Left() => Cursor = Previous(Cursor);
    public void Right() => Cursor = Next(Cursor);
    public void Home() => Cursor = 0;
    public void End() => Cursor = Text.Length;

    public void Backspace() => Remove(Previous(Cursor), Cursor);
    public void Delete() => Remove(Cursor, Next(Cursor));
    public void DeleteToStart() => Remove(0, Cursor);
    public void DeleteToEnd() => Remove(Cursor, Text.Length);

    /// <summary>
    /// Ctrl+W: the spaces before the cursor, then the word before them (as readline's unix-word-rubout).
    /// </summary>
    public void DeleteWordBefore() => Remove(WordStartBefore(Cursor), Cursor);

    /// <summary>Alt+B, Ctrl+Left: to the start of the word before the cursor, past the spaces first.</summary>
    public void WordLeft() => Cursor = WordStartBefore(Cursor);

    /// <summary>Alt+F, Ctrl+Right: past the spaces after the cursor, then to the end of the word there.</summary>
    public void WordRight()
    {
        var end = Cursor;
        while (end < Text.Length && char.IsWhiteSpace(Text[end])) end++;
        while (end < Text.Length && !char.IsWhiteSpace(Text[end])) end++;
        Cursor = end;
    }

    private int WordStartBefore(int index)
    {
        while (index > 0 && char.IsWhiteSpace(Text[index - 1])) index--;
        while (index > 0 && !char.IsWhiteSpace(Text[index - 1])) index--;
        return index;
    }

    private void Remove(int start, int end)
    {
        if (end <= start) return;
        Text = Text.Remove(start, end - start);
        Cursor = start;
    }

    private int Next(int index) =>
        index >= Text.Length ? index : index + StringInfo.GetNextTextElementLength(Text.AsSpan(index));

    /// <summary>No user-perceived character is longer than this many chars (an emoji family is eleven).</summary>
    private const int LongestCharacter = 64;

    /// <summary>
    /// The boundary before `index`: characters are found walking forward, as only forward is defined, but from a
    /// little before it rather than from the start, so that a Left or Backspace costs the same on a long line.
    /// </summary>
    private int Previous(int index)
    {
        var at = Math.Max(0, index - LongestCharacter);
        if (at > 0 && char.IsLowSurrogate(Text[at])) at--;
        var boundary = at;
        for (; at < index; at = Next(at)) boundary = at;
        return boundary;
    }
}
