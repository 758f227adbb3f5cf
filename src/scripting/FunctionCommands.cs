// src/scripting/FunctionCommands.cs: feature: Redis 7's functions, with Redis's replies and errors. FUNCTION LOAD
// runs a library's code (`#!lua name=LIB` on its first line), which registers named functions; FCALL and FCALL_RO
// call one by name, as EVALSHA calls a script by SHA1, in one step of the store, under the same gate, time limit,
// kill and undo as a script (ScriptCommands.Run). FUNCTION DELETE, FLUSH, LIST, STATS and KILL look after them.
// The libraries change only inside the store's lock; the functions are looked up again inside the step that runs
// one, so a library deleted meanwhile is "not found", never half there.

using System.Buffers;
using System.Text;

namespace KV;

/// <summary>The server's function libraries, by name, and their functions, by name.</summary>
public sealed class FunctionLibraries
{
    public sealed record Library(string Name, byte[] Code, List<LuaEngine.Registered> Functions);

    /// <summary>How long a library's own code may run while it loads, as Redis allows.</summary>
    public static readonly TimeSpan LoadLimit = TimeSpan.FromMilliseconds(500);

    public SortedDictionary<string, Library> Libraries { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, LuaEngine.Registered> Functions { get; } = new(StringComparer.Ordinal);

    public static FunctionLibraries Of(RespSession session) => session.Activity.Feature(_ => new FunctionLibraries());

    /// <summary>What a function's flags mean to a run (its names were checked at load): always declared, as in Redis 7.
    /// </summary>
    public static ScriptFlags FlagsOf(LuaEngine.Registered function) =>
        function.Flags.Aggregate(ScriptFlags.Declared, (flags, name) => flags | (ScriptShebang.FlagOf(name) ?? 0));

    /// <summary>Under the store's lock: the library and its functions go, and the interpreter may collect them.
    /// </summary>
    public void Remove(Library library, LuaEngine engine)
    {
        Libraries.Remove(library.Name);
        foreach (var function in library.Functions)
        {
            Functions.Remove(function.Name);
            engine.Release(function);
        }
    }
}

public static class FunctionCommands
{
    /// <summary>FCALL function numkeys [key ...] [arg ...] (and FCALL_RO).</summary>
    public static void Call(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var scripts = Scripts.Of(session);
        var libraries = FunctionLibraries.Of(session);
        var name = Encoding.UTF8.GetString(args[1]);
        var found = session.Store.Atomically((libraries, name),
            static s => s.libraries.Functions.GetValueOrDefault(s.name));
        if (found is null)
        {
            RespReply.Error(output, "Function not found");
            return;
        }
        var readOnly = args.Is(0, "fcall_ro"u8);
        var flags = FunctionLibraries.FlagsOf(found);
        if (readOnly && !flags.HasFlag(ScriptFlags.NoWrites))
        {
            RespReply.Error(output, "Can not execute a script with write flag using *_ro command.");
            return;
        }
        ScriptCommands.Run(session, scripts, flags, args, output, readOnly,
            (engine, input, host) => libraries.Functions.GetValueOrDefault(name) is { } function
                ? engine.Call(function, input, host) : ("ERR Function not found", false),
            notNumber: "Bad number of keys provided");
    }

    /// <summary>FUNCTION LOAD|DELETE|FLUSH|LIST|STATS|KILL|HELP.</summary>
    public static void Function(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var scripts = Scripts.Of(session);
        var libraries = FunctionLibraries.Of(session);
        // Served while a script runs past its limit, as Redis serves them: KILL and STATS; the rest wait or are BUSY.
        if (!args.Is(1, "kill"u8) && !args.Is(1, "stats"u8) && !scripts.Admit())
        {
            RespReply.Error(output, RespCommands.Busy, prefix: "BUSY");
            return;
        }
        if (args.Is(1, "load"u8) && args.Count >= 3) Load(session, scripts, libraries, args, output);
        else if (args.Is(1, "delete"u8) && args.Count == 3)
        {
            var name = Encoding.UTF8.GetString(args[2]);
            var deleted = session.Store.Atomically((scripts, libraries, name), static s =>
            {
                if (!s.libraries.Libraries.TryGetValue(s.name, out var library)) return false;
                s.libraries.Remove(library, s.scripts.Engine);
                return true;
            });
            if (deleted) RespReply.Ok(output);
            else RespReply.Error(output, "Library not found");
        }
        else if (args.Is(1, "flush"u8) && args.Count <= 3)
        {
            if (args.Count == 3 && !args.Is(2, "async"u8) && !args.Is(2, "sync"u8))
            {
                RespReply.Error(output, "FUNCTION FLUSH only supports SYNC|ASYNC option");
                return;
            }
            session.Store.Atomically((scripts, libraries), static s =>
            {
                foreach (var library in s.libraries.Libraries.Values.ToList())
                    s.libraries.Remove(library, s.scripts.Engine);
            });
            RespReply.Ok(output);
        }
        else if (args.Is(1, "list"u8)) List(session, libraries, args, output);
        else if (args.Is(1, "stats"u8) && args.Count == 2) Stats(session, scripts, libraries, output);
        else if (args.Is(1, "kill"u8) && args.Count == 2) ScriptCommands.Kill(scripts, output);
        else if (args.Is(1, "help"u8))
            RespReply.Help(output,
                "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "LOAD [REPLACE] <FUNCTION CODE>", "    Create a new library with the given library name and code.",
                "DELETE <LIBRARY NAME>", "    Delete the given library.",
                "LIST [LIBRARYNAME PATTERN] [WITHCODE]", "    Return general information on all the libraries.",
                "KILL", "    Kill the running script, and undo what it wrote.",
                "FLUSH [ASYNC|SYNC]", "    Delete all the libraries.",
                "STATS", "    Return information about the running script and the libraries.");
        else RespReply.UnknownSubcommand(output, args.Text(1), "FUNCTION");
    }

    private static void Load(RespSession session, Scripts scripts, FunctionLibraries libraries, RespArguments args,
        IBufferWriter<byte> output)
    {
        var replace = false;
        for (var i = 2; i < args.Count - 1; i++)
        {
            if (!args.Is(i, "replace"u8))
            {
                RespReply.Error(output, $"Unknown option given: {args.Text(i)}");
                return;
            }
            replace = true;
        }
        var code = args[args.Count - 1].ToArray();
        var (name, start, invalid) = Metadata(code);
        if (invalid is not null)
        {
            RespReply.Error(output, invalid);
            return;
        }
        var error = session.Store.Atomically((scripts, libraries, name: name!, code, start, replace), static s =>
        {
            s.libraries.Libraries.TryGetValue(s.name, out var old);
            if (old is not null && !s.replace) return $"Library '{s.name}' already exists";
            var (functions, problem) = s.scripts.Engine.Load(s.code[s.start..], FunctionLibraries.LoadLimit);
            if (problem is not null) return problem;
            if (functions!.Count == 0) problem = "No functions registered";
            else if (functions.FirstOrDefault(f => s.libraries.Functions.ContainsKey(f.Name)
                && old?.Functions.Any(mine => mine.Name == f.Name) != true) is { } taken)
                problem = $"Function {taken.Name} already exists";
            if (problem is not null)
            {
                foreach (var function in functions) s.scripts.Engine.Release(function);
                return problem;
            }
            if (old is not null) s.libraries.Remove(old, s.scripts.Engine);
            s.libraries.Libraries[s.name] = new FunctionLibraries.Library(s.name, s.code, functions);
            foreach (var function in functions) s.libraries.Functions[function.Name] = function;
            return null;
        });
        if (error is not null) RespReply.Error(output, error);
        else RespReply.Bulk(output, name!);
    }

    /// <summary>
    /// The first line, `#!ENGINE name=LIB`: the library's name and where its code starts (the line feed kept, so that
    /// line numbers stay the user's); or Redis's error.
    /// </summary>
    private static (string? Name, int Start, string? Error) Metadata(byte[] code)
    {
        if (!code.AsSpan().StartsWith("#!"u8)) return (null, 0, "Missing library metadata");
        if (ScriptShebang.FirstLine(code) is not ({ } parts, var end)) return (null, 0, "Invalid library metadata");
        string? name = null;
        foreach (var part in parts.Skip(1))
        {
            if (!part.StartsWith("name=", StringComparison.OrdinalIgnoreCase))
                return (null, 0, $"Invalid metadata value given: {part}");
            if (name is not null) return (null, 0, "Invalid metadata value, name argument was given multiple times");
            name = part[5..];
        }
        if (name is null) return (null, 0, "Library name was not given");
        if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
            return (null, 0, "Library names can only contain letters, numbers, or underscores(_) and must be at " +
                "least one character long");
        if (!string.Equals(parts[0][2..], "lua", StringComparison.OrdinalIgnoreCase))
            return (null, 0, $"Engine '{parts[0][2..]}' not found");
        return (name, end, null);
    }

    /// <summary>FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE]: each library, its engine, its functions.</summary>
    private static void List(RespSession session, FunctionLibraries libraries, RespArguments args,
        IBufferWriter<byte> output)
    {
        var withCode = false;
        byte[]? pattern = null;
        for (var i = 2; i < args.Count; i++)
        {
            if (!withCode && args.Is(i, "withcode"u8)) withCode = true;
            else if (pattern is null && args.Is(i, "libraryname"u8))
            {
                if (i == args.Count - 1)
                {
                    RespReply.Error(output, "library name argument was not given");
                    return;
                }
                pattern = args[++i].ToArray();
            }
            else
            {
                RespReply.Error(output, $"Unknown argument {args.Text(i)}");
                return;
            }
        }
        var protocol = session.Protocol;
        session.Store.Atomically((libraries, pattern, withCode, protocol, output), static s =>
        {
            var shown = s.libraries.Libraries.Values.Where(library => s.pattern is null
                || RedisGlob.Matches(s.pattern, Encoding.UTF8.GetBytes(library.Name))).ToList();
            RespReply.ArrayHeader(s.output, shown.Count);
            foreach (var library in shown)
            {
                RespReply.MapHeader(s.output, s.withCode ? 4 : 3, s.protocol);
                RespReply.Bulk(s.output, "library_name");
                RespReply.Bulk(s.output, library.Name);
                RespReply.Bulk(s.output, "engine");
                RespReply.Bulk(s.output, "LUA");
                RespReply.Bulk(s.output, "functions");
                RespReply.ArrayHeader(s.output, library.Functions.Count);
                foreach (var function in library.Functions)
                {
                    RespReply.MapHeader(s.output, 3, s.protocol);
                    RespReply.Bulk(s.output, "name");
                    RespReply.Bulk(s.output, function.Name);
                    RespReply.Bulk(s.output, "description");
                    if (function.Description is { } description) RespReply.Bulk(s.output, description);
                    else RespReply.Null(s.output, s.protocol);
                    RespReply.Bulk(s.output, "flags");
                    RespReply.SetHeader(s.output, function.Flags.Length, s.protocol);
                    foreach (var flag in function.Flags) RespReply.Line(s.output, '+', flag);
                }
                if (!s.withCode) continue;
                RespReply.Bulk(s.output, "library_code");
                RespReply.Bulk(s.output, library.Code);
            }
        });
    }

    /// <summary>FUNCTION STATS: whether a script runs now, and how many libraries and functions there are.</summary>
    private static void Stats(RespSession session, Scripts scripts, FunctionLibraries libraries,
        IBufferWriter<byte> output)
    {
        var protocol = session.Protocol;
        RespReply.MapHeader(output, 2, protocol);
        RespReply.Bulk(output, "running_script");
        if (scripts.Running)
        {
            RespReply.MapHeader(output, 1, protocol);
            RespReply.Bulk(output, "duration_ms");
            RespReply.Integer(output, (long)scripts.RunningFor.TotalMilliseconds);
        }
        else RespReply.Null(output, protocol);
        // Read without the store's lock, which a running script holds: counts, at worst a change behind.
        var (count, functions) = (libraries.Libraries.Count, libraries.Functions.Count);
        RespReply.Bulk(output, "engines");
        RespReply.MapHeader(output, 1, protocol);
        RespReply.Bulk(output, "LUA");
        RespReply.MapHeader(output, 2, protocol);
        RespReply.Bulk(output, "libraries_count");
        RespReply.Integer(output, count);
        RespReply.Bulk(output, "functions_count");
        RespReply.Integer(output, functions);
    }
}
