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
        var end = body.AsSpan().IndexOf((byte)'\n');
        if (end < 0) return (ScriptFlags.None, 0, "Invalid script shebang");
        var parts = Encoding.UTF8.GetString(body, 0, end)
            .Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0) return (ScriptFlags.None, 0, "Invalid engine in script shebang");
        if (parts[0] != "#!lua") return (ScriptFlags.None, 0, $"Unexpected engine in script shebang: {parts[0]}");
        var flags = ScriptFlags.Declared;
        foreach (var option in parts.Skip(1))
        {
            if (!option.StartsWith("flags=", StringComparison.Ordinal))
                return (ScriptFlags.None, 0, $"Unknown lua shebang option: {option}");
            foreach (var name in option["flags=".Length..].Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                if (Known.FirstOrDefault(known => known.Name == name) is not { Name: not null } found)
                    return (ScriptFlags.None, 0, $"Unexpected flag in script shebang: {name}");
                flags |= found.Flag;
            }
        }
        return (flags, end, null);
    }
}
