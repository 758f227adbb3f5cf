// src/scripting/LuaEngine.Functions.cs: feature: Redis 7's function libraries in the one interpreter. A library's
// code runs once, at FUNCTION LOAD, where it reaches only `redis.register_function`, `redis.log` and the version
// (LuaEngine.Prelude.cs); each function it registers is kept by reference and called by FCALL with KEYS and ARGV as
// its two arguments, under the same sandbox, heap and kill check as a script. A load is stopped past its time limit,
// so that a library's own code cannot hold the store's lock for ever.

using System.Diagnostics;
using KeraLua;

namespace KV;

public sealed partial class LuaEngine
{
    /// <summary>A function a library registered: its callback's reference, its flags' names, its description.</summary>
    public sealed record Registered(string Name, int Reference, string[] Flags, string? Description);

    private long loadDeadline;

    /// <summary>
    /// Runs a library's code (its first line taken off, its line feed kept, so that line numbers stay the user's), so
    /// that it registers its functions; what it registered, or Redis's error. On an error nothing is kept.
    /// </summary>
    public (List<Registered>? Functions, string? Error) Load(byte[] code, TimeSpan limit)
    {
        lua.SetTop(0);
        if (LoadSandboxed(code, "@user_function") is { } error) return (null, $"Error compiling function: {error}");
        killed = false;
        if (!LibraryStep("begin", results: 0))
        {
            lua.SetTop(0);
            return (null, "Error registering functions: not enough memory");
        }
        loadDeadline = Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);
        var status = lua.PCall(0, 0, 0);
        loadDeadline = 0;
        string? failed = null;
        if (status != LuaStatus.OK)
        {
            var text = ErrorText("", status);
            failed = "Error registering functions: " + (text.StartsWith("ERR ") ? text[4..] : text);
        }
        lua.SetTop(0);
        LibraryStep("finish", results: 1);
        if (failed is not null || lua.Type(-1) != LuaType.Table)
        {
            lua.SetTop(0);
            return (null, failed ?? "Error registering functions: not enough memory");
        }
        var functions = new List<Registered>();
        lua.PushNil();
        while (lua.Next(-2))
        {
            var name = lua.ToString(-2)!;
            lua.RawGetInteger(-1, 2);
            var flags = (lua.ToString(-1) ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
            lua.RawGetInteger(-2, 3);
            var description = lua.Type(-1) == LuaType.String ? lua.ToString(-1) : null;
            lua.Pop(2);
            lua.RawGetInteger(-1, 1);
            functions.Add(new Registered(name, lua.Ref(LuaRegistry.Index), flags, description));
            lua.Pop(1);
        }
        lua.SetTop(0);
        return (functions, null);
    }

    /// <summary>
    /// Calls `begin` or `finish` of the prelude's library table, leaving `results` values; false if it failed (out of
    /// memory). The kill check stays quiet meanwhile: a SCRIPT KILL meant for a script waiting its turn must not
    /// stop these two steps half done, which would leave the next script seeing a load's globals.
    /// </summary>
    private bool LibraryStep(string step, int results)
    {
        lua.RawGetInteger(LuaRegistry.Index, library);
        lua.GetField(-1, step);
        lua.Remove(-2);
        quiet = true;
        try
        {
            return lua.PCall(0, results, 0) == LuaStatus.OK;
        }
        finally
        {
            quiet = false;
        }
    }

    private bool quiet;

    /// <summary>FCALL: runs a library's function, as Run runs a script.</summary>
    public (string? Error, bool Killed) Call(Registered function, ScriptInput input, IScriptHost host) =>
        Run(function.Reference, (function.Name, "user_function"), input, asArguments: true, host);

    /// <summary>A function deleted or replaced: the interpreter may collect it.</summary>
    public void Release(Registered function) => lua.Unref(LuaRegistry.Index, function.Reference);
}
