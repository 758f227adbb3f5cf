// src/scripting/ScriptShebang.cs: feature: Redis 7's script flags, declared on a first line such as
// `#!lua flags=no-writes,allow-oom`. A script that declares them is held to them: `no-writes` makes it read-only
// (as EVAL_RO), and without `allow-oom` (or `no-writes`) it does not start at all once the store is full. A script
// without that line keeps Redis 6's rules. The line is taken off before compiling, its line feed kept, so that the
// line numbers in errors stay the user's.

using System.Text;

namespace KV;

/// <summary>What a script's first line declared; None without one.</summary>
[Flags]
public enum ScriptFlags { None = 0, Declared = 1, NoWrites = 2, AllowOom = 4 }

public static class ScriptShebang
{
    /// <summary>The flags Redis 7.0 knows; those that mean nothing on one server are accepted and change nothing.
    /// </summary>
    private static readonly (string Name, ScriptFlags Flag)[] Known =
    [
        ("no-writes", ScriptFlags.NoWrites), ("allow-oom", ScriptFlags.AllowOom), ("allow-stale", ScriptFlags.None),
        ("no-cluster", ScriptFlags.None), ("allow-cross-slot-keys", ScriptFlags.None),
    ];

    /// <summary>The flags a script declares and where its code starts (the first line's length), or Redis's error.
    /// </summary>
    public static (ScriptFlags Flags, int Start, string? Error) Read(byte[] body)
    {
        if (!body.AsSpan().StartsWith("#!"u8)) return (ScriptFlags.None, 0, null);
        if (FirstLine(body) is not ({ } parts, var end)) return (ScriptFlags.None, 0, "Invalid script shebang");
        if (parts.Length == 0) return (ScriptFlags.None, 0, "Invalid engine in script shebang");
        if (parts[0] != "#!lua") return (ScriptFlags.None, 0, $"Unexpected engine in script shebang: {parts[0]}");
        var flags = ScriptFlags.Declared;
        foreach (var option in parts.Skip(1))
        {
            if (!option.StartsWith("flags=", StringComparison.Ordinal))
                return (ScriptFlags.None, 0, $"Unknown lua shebang option: {option}");
            foreach (var name in option["flags=".Length..].Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                if (FlagOf(name) is not { } flag)
                    return (ScriptFlags.None, 0, $"Unexpected flag in script shebang: {name}");
                flags |= flag;
            }
        }
        return (flags, end, null);
    }

    /// <summary>What a flag's name means (None for one that changes nothing here); null for a name Redis 7.0 lacks.
    /// </summary>
    public static ScriptFlags? FlagOf(string name) =>
        Known.FirstOrDefault(known => known.Name == name) is { Name: not null } found ? found.Flag : null;

    /// <summary>
    /// The words of a first line (`#!lua flags=...`, a library's `#!lua name=LIB`) and where it ends, its line feed
    /// left to the code; null when no line feed ends it.
    /// </summary>
    public static (string[] Words, int End)? FirstLine(byte[] code)
    {
        var end = code.AsSpan().IndexOf((byte)'\n');
        if (end < 0) return null;
        return (Encoding.UTF8.GetString(code, 0, end).Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries),
            end);
    }
}
