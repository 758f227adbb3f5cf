// src/client/editor/History.cs: the lines a person typed, walked with Up and Down, kept across runs in a file.
//
// Like redis-cli's ~/.rediscli_history: ~/.kvclient_history (KVCLIENT_HISTFILE overrides it), the last
// Capacity lines. A blank line or a repeat of the previous one is not added, and a line that carries a
// password (`auth ...`) is never kept. A file that cannot be read or written costs the history, never the session.

namespace KV;

public sealed class History
{
    public const int Capacity = 1000;
    private readonly List<string> entries = [];
    private readonly string? path;
    private bool saving;
    private int walk;
    private string draft = "";

    private History(string? path)
    {
        this.path = path;
        saving = path is not null;
    }

    public IReadOnlyList<string> Entries => entries;

    /// <summary>The history kept in `path` (none when null), with what the file already holds.</summary>
    public static History Open(string? path)
    {
        var history = new History(path);
        try
        {
            if (path is not null && File.Exists(path))
                history.entries.AddRange(File.ReadLines(path).Where(line
                    => !string.IsNullOrWhiteSpace(line)).TakeLast(Capacity));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        history.walk = history.entries.Count;
        return history;
    }

    /// <summary>KVCLIENT_HISTFILE, else ~/.kvclient_history; null when there is no home folder.</summary>
    public static string? DefaultPath()
    {
        if (Environment.GetEnvironmentVariable("KVCLIENT_HISTFILE") is { Length: > 0 } chosen) return chosen;
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return home.Length == 0 ? null : Path.Combine(home, ".kvclient_history");
    }

    /// <summary>`auth PASSWORD` in any case: such a line is never written down.</summary>
    public static bool HoldsSecret(string line) =>
        Commands.Find(line.TrimStart().Split(' ', 2)[0])?.Kind == CommandKind.Auth;

    /// <summary>Keeps a line the user entered, and writes the file.</summary>
    public void Add(string line)
    {
        walk = entries.Count;
        if (string.IsNullOrWhiteSpace(line) || HoldsSecret(line) || (entries.Count > 0 && entries[^1] == line)) return;
        entries.Add(line);
        if (entries.Count > Capacity) entries.RemoveRange(0, entries.Count - Capacity);
        walk = entries.Count;
        Save();
    }

    /// <summary>
    /// Up: the entry before the one shown, or null at the oldest. The line being typed is kept for Down.
    /// </summary>
    public string? Previous(string current)
    {
        if (walk == entries.Count) draft = current;
        if (walk == 0) return null;
        return entries[--walk];
    }

    /// <summary>Down: the next entry, then the line that was being typed, then null.</summary>
    public string? Next()
    {
        if (walk >= entries.Count) return null;
        return ++walk == entries.Count ? draft : entries[walk];
    }

    /// <summary>A new line starts at the newest end of the history.</summary>
    public void Restart()
    {
        walk = entries.Count;
        draft = "";
    }

    /// <summary>Written whole through a temporary file, so that a crash never leaves half a history.</summary>
    private void Save()
    {
        if (!saving) return;
        try
        {
            var temporary = path + ".tmp";
            File.WriteAllLines(temporary, entries);
            File.Move(temporary, path!, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            saving = false;
        }
    }
}
