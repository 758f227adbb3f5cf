// src/resp/RespConfig.cs: CONFIG GET, SET, RESETSTAT and HELP. The store's maxmemory is served here; a feature's own
// parameters are registered (eviction's maxmemory-policy, scripting's lua-time-limit, pub/sub's
// notify-keyspace-events), so the RESP folder names no feature; Redis's tunables that clients and Redis's own tests
// set are accepted and remembered, and change nothing; the rest is Redis's error for an unknown option.

using System.Buffers;
using System.Globalization;
using System.Text;

namespace KV;

/// <summary>
/// A parameter a feature serves: read gives its value now, write sets it from text, or says why not (Redis's wording
/// after "CONFIG SET failed ... - ").
/// </summary>
public sealed record ConfigParameter(string Name, Func<RespSession, string> Read,
    Func<RespSession, string, string?> Write);

public static class RespConfig
{
    private static readonly Dictionary<string, ConfigParameter> parameters = new()
    {
        // The store's budget, as --max-memory sets it at start.
        ["maxmemory"] = new("maxmemory", session => session.Store.MaxBytes.ToString(CultureInfo.InvariantCulture),
            (session, value) =>
            {
                try
                {
                    session.Store.MaxBytes = ServerOptions.ParseSize(value, "maxmemory");
                    return null;
                }
                catch (FormatException)
                {
                    return "argument must be a memory value";
                }
            }),
    };

    /// <summary>At start, from a feature's registration: CONFIG GET and SET serve the parameter from now on.</summary>
    public static void Register(ConfigParameter parameter) => parameters[parameter.Name] = parameter;

    /// <summary>What redis-benchmark and client libraries ask at connect: KV saves nothing to disk.</summary>
    private static readonly (string Name, string Value)[] Configuration = [("save", ""), ("appendonly", "no")];

    /// <summary>
    /// Redis's tuning parameters that clients and Redis's own tests set: CONFIG SET accepts and remembers them (CONFIG
    /// GET reads them back), and they change nothing, since KV has one encoding a kind and its own limits. A name
    /// with "ziplist" and the same with "listpack" are one parameter, as in Redis 7.
    /// </summary>
    private static readonly (string Name, string Default)[] Tunables =
    [
        ("list-max-listpack-size", "-2"), ("list-compress-depth", "0"), ("hash-max-listpack-entries", "128"),
        ("hash-max-listpack-value", "64"), ("set-max-intset-entries", "512"), ("set-max-listpack-entries", "128"),
        ("zset-max-listpack-entries", "128"), ("zset-max-listpack-value", "64"), ("stream-node-max-entries", "100"),
        ("proto-max-bulk-len", "536870912"), ("client-query-buffer-limit", "1073741824"),
        ("rdb-key-save-delay", "0"),
    ];

    /// <summary>The tunables' values now, one set a server.</summary>
    private sealed class TunableValues
    {
        public System.Collections.Concurrent.ConcurrentDictionary<string, string> Values { get; } =
            new(Tunables.Select(t => KeyValuePair.Create(t.Name, t.Default)));
    }

    private static string Canonical(string name) => name.Replace("ziplist", "listpack", StringComparison.Ordinal);

    public static void Config(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (args.Is(1, "help"u8) && args.Count == 2)
        {
            RespReply.Help(output, "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "GET <pattern>",
                "    Return parameters matching the glob-like <pattern> and their values.",
                "SET <directive> <value> [<directive> <value> ...]",
                "    Set maxmemory, maxmemory-policy, lua-time-limit, notify-keyspace-events; remember Redis's",
                "    encoding and buffer tunables, which change nothing (one encoding a kind).",
                "RESETSTAT", "    Accepted; KV's counters run from the start.",
                "HELP", "    Print this help.");
            return;
        }
        var tunables = session.Activity.Feature(_ => new TunableValues()).Values;
        if (args.Is(1, "set"u8) && args.Count >= 4 && args.Count % 2 == 0)
        {
            var pairs = Enumerable.Range(0, (args.Count - 2) / 2)
                .Select(i => (Name: Canonical(args.Text(2 + 2 * i).ToLowerInvariant()), Value: args.Text(3 + 2 * i)))
                .ToList();
            // `save ""` is what KV does already (Redis's tests put back the value they read).
            pairs.RemoveAll(p => p is { Name: "save", Value: "" });
            if (pairs.FirstOrDefault(p => !tunables.ContainsKey(p.Name) && !parameters.ContainsKey(p.Name))
                is { Name: not null } unknown)
            {
                RespReply.Error(output, $"Unknown option or number of arguments for CONFIG SET - '{unknown.Name}'");
                return;
            }
            foreach (var (name, value) in pairs)
            {
                if (!parameters.TryGetValue(name, out var parameter)) tunables[name] = value;
                else if (parameter.Write(session, value) is { } problem)
                {
                    RespReply.Error(output, $"CONFIG SET failed (possibly related to argument '{name}') - {problem}");
                    return;
                }
            }
            RespReply.Ok(output);
            return;
        }
        if (args.Is(1, "resetstat"u8) && args.Count == 2)
        {
            RespReply.Ok(output);
            return;
        }
        if (!args.Is(1, "get"u8))
        {
            RespReply.Error(output, $"unknown subcommand '{args.Text(1)}'. Try CONFIG HELP.");
            return;
        }
        if (args.Count < 3)
        {
            RespCommands.WrongArity(output, "config|get");
            return;
        }
        var patterns = Enumerable.Range(2, args.Count - 2)
            .Select(i => Encoding.UTF8.GetBytes(args.Text(i).ToLowerInvariant())).ToList();
        var matching = Configuration.Concat(tunables.Select(t => (Name: t.Key, t.Value)))
            .Concat(parameters.Values.Select(p => (p.Name, Value: p.Read(session))))
            .Concat(tunables.Where(t => t.Key.Contains("listpack", StringComparison.Ordinal)
                && !t.Key.StartsWith("set-", StringComparison.Ordinal))
                .Select(t => (Name: t.Key.Replace("listpack", "ziplist", StringComparison.Ordinal), t.Value)))
            .Where(c => patterns.Any(p => RedisGlob.Matches(p, Encoding.UTF8.GetBytes(c.Name)))).ToList();
        RespReply.MapHeader(output, matching.Count, session.Protocol);
        foreach (var (name, value) in matching)
        {
            RespReply.Bulk(output, name);
            RespReply.Bulk(output, value);
        }
    }
}
