// src/client/editor/Completion.cs: what Tab completes and what the dim hint after the cursor shows, both read from the
// command table, so that a new command is completed and hinted without a line written here.
//
// Tab completes a command name, a format flag, or the command after `help`. In the VALUE of `set` it is a
// tab character: values may hold tabs. Completion adds a space only where an argument must follow, because
// the protocol refuses a trailing space.

namespace KV;

public abstract record Completion
{
    /// <summary>Nothing to complete here.</summary>
    public sealed record None : Completion;
    /// <summary>The cursor is in a `set` VALUE: the Tab key is a tab character.</summary>
    public sealed record TabCharacter : Completion;
    /// <summary>The line after completing, and where the cursor goes.</summary>
    public sealed record Completed(string Text, int Cursor) : Completion;
    /// <summary>Several words fit and share no longer prefix: show them.</summary>
    public sealed record Choices(IReadOnlyList<string> Words) : Completion;

    public static Completion For(string text, int cursor)
    {
        var words = SplitWords(text[..cursor]);
        var partial = words[^1];
        if (words.Count == 1) return Complete(text, cursor, partial, Commands.All.Select(c => c.Name),
            RequiresArgument);
        if (Commands.Find(words[0]) is not { } command) return new None();
        var argument = words.Count - 1;
        return command.Arguments switch
        {
            ArgumentShape.KeyValue or ArgumentShape.ChannelMessage when argument >= 2 => new TabCharacter(),
            ArgumentShape.KeySecondsValue when argument >= 3 => new TabCharacter(),
            ArgumentShape.OptionalCommand when argument == 1 => Complete(text, cursor, partial,
                Commands.All.Select(c => c.Name), _ => false),
            ArgumentShape.Key when argument == 2 && command.TakesFormat => Complete(text, cursor, partial, Flags,
                _ => false),
            ArgumentShape.None when argument == 1 && command.TakesFormat => Complete(text, cursor, partial, Flags,
                _ => false),
            _ => new None(),
        };
    }

    /// <summary>The dim hint after a line that starts with a known command: the arguments still to type.</summary>
    public static string Hint(string text)
    {
        var words = SplitWords(text);
        if (Commands.Find(words[0]) is not { } command) return "";
        // The spaces typed between words (a quoted key is one word, spaces and all).
        var typed = words.Count - 1;
        // After a space, the word that goes there is still hinted; a word being typed counts as given.
        var afterSpace = typed > 0 && words[^1].Length == 0;
        var rest = string.Join(' ', command.ArgumentWords.Skip(afterSpace ? typed - 1 : typed));
        return rest.Length == 0 ? "" : afterSpace ? rest : " " + rest;
    }


    /// <summary>
    /// The words of the line one space apart, where a quoted key or value is one word, spaces and all. Only the first
    /// few count (a pasted value may hold thousands of spaces), so the rest is left as the last word.
    /// </summary>
    private static List<string> SplitWords(string text)
    {
        var words = new List<string>();
        var (start, quoted) = (0, false);
        for (var i = 0; i < text.Length && words.Count < 4; i++)
        {
            if (quoted && text[i] == '\\') i++;
            else if (text[i] == '"' && (quoted || i == start)) quoted = !quoted;
            else if (text[i] == ' ' && !quoted)
            {
                words.Add(text[start..i]);
                start = i + 1;
            }
        }
        words.Add(text[start..]);
        return words;
    }

    private static bool RequiresArgument(string name) => Commands.Find(name)?.RequiresArgument == true;

    private static IEnumerable<string> Flags => FormatFlag.All.Select(f => f.Flag);

    private static Completion Complete(string text, int cursor, string partial, IEnumerable<string> words, Func<string,
        bool> needsSpace)
    {
        var fits = words.Where(w => w.StartsWith(partial, StringComparison.OrdinalIgnoreCase)).ToList();
        if (fits.Count == 0) return new None();
        var start = cursor - partial.Length;
        var chosen = fits.Count == 1 ? fits[0] + (needsSpace(fits[0]) ? " " : "") : CommonPrefix(fits);
        if (chosen.Length <= partial.Length && fits.Count > 1) return new Choices(fits);
        var completed = text[..start] + chosen + text[cursor..];
        return new Completed(completed, start + chosen.Length);
    }

    private static string CommonPrefix(List<string> words)
    {
        var prefix = words[0];
        foreach (var word in words)
            while (!word.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) prefix = prefix[..^1];
        return prefix;
    }
}
