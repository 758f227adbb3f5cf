// src/scripting/ScriptRegistration.cs: how scripts join the server when this folder is part of the program: EVAL,
// EVALSHA, their read-only forms and SCRIPT into RESP's table, --script-time-limit onto the command line, and the
// scripts' figures into `stats` (and so INFO). The core names no feature; without this folder EVAL is unknown.

using System.Runtime.CompilerServices;

namespace KV;

internal static class ScriptRegistration
{
    [ModuleInitializer]
    internal static void Register()
    {
        RespCommand[] commands =
        [
            new("eval", -3, "EVAL script numkeys [key ...] [arg ...]: run a Lua script as one step",
                ScriptCommands.Eval),
            new("evalsha", -3, "EVALSHA sha1 numkeys [key ...] [arg ...]: run a cached script", ScriptCommands.EvalSha),
            new("eval_ro", -3, "EVAL, for a script that only reads", ScriptCommands.Eval),
            new("evalsha_ro", -3, "EVALSHA, for a script that only reads", ScriptCommands.EvalSha),
            new("script", -2, "SCRIPT LOAD|EXISTS|FLUSH|KILL|HELP: the scripts' cache, and stopping one",
                ScriptCommands.Script) { WhileBusy = true },
            new("fcall", -3, "FCALL function numkeys [key ...] [arg ...]: call a library's function as one step",
                FunctionCommands.Call),
            new("fcall_ro", -3, "FCALL, for a function flagged no-writes", FunctionCommands.Call),
            new("function", -2, "FUNCTION LOAD|DELETE|FLUSH|LIST|STATS|KILL|HELP: the function libraries",
                FunctionCommands.Function) { WhileBusy = true },
        ];
        foreach (var command in commands) RespCommands.Register(command);
        FeatureOptions.Register(Scripts.TimeLimit);
        // Redis's names for the same limit (lua-time-limit, renamed busy-reply-threshold in 7.0), in milliseconds.
        foreach (var name in new[] { "lua-time-limit", "busy-reply-threshold" })
            RespConfig.Register(new(name, session => ScriptTimeLimit.Of(session).Milliseconds.ToString(),
                (session, value) =>
                {
                    if (!long.TryParse(value, out var ms) || !Scripts.ValidLimit(ms))
                        return "argument must be between 1 and 3600000 (milliseconds)";
                    ScriptTimeLimit.Of(session).Milliseconds = ms;
                    return null;
                }));
        ServerStats.Register(static (server, _) =>
        {
            var scripts = server.Activity.Existing<Scripts>();
            return scripts is null ? [new("scripts_cached", 0), new("scripts_memory", 0), new("scripts_killed", 0)] :
            [
                new("scripts_cached", scripts.Engine.Cached),
                new("scripts_memory", scripts.Engine.HeapBytes),
                new("scripts_killed", scripts.Killed),
            ];
        });
    }
}
