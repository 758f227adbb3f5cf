// src/checking/Recording.cs: what many concurrent clients saw, written down so that a checker can judge it afterwards.
//
// Each operation is a request as one client saw it: when it was sent, when its reply came, what it asked and what
// came back, the reply in a form both protocols share ("OK", "nil", "5", "[5,nil]", "ERR"). The times are one clock
// for every client of the process (Stopwatch), so that "A's reply came before B was sent" is a fact the checker may
// use. A request whose reply never came (its connection dropped) has an unknown outcome: it may or may not have
// happened, at any time after it was sent. Used by the tests and by `bench.cs -- --race`; the server never sees it.

using System.Collections.Immutable;
using System.Diagnostics;

namespace KV;

/// <summary>
/// A request in the checker's words: a command name and its arguments, lower case as the model reads them.
/// `exec` carries the queued commands in Batch and is answered with their replies; `eval` is a script that runs its
/// Batch as one step, answered the same way.
/// </summary>
public sealed record Command(string Name, ImmutableArray<string> Args, ImmutableArray<Command> Batch = default)
{
    public static Command Of(string name, params string[] args) => new(name, [.. args]);
    public static Command Exec(params Command[] batch) => new("exec", [], [.. batch]);
    public static Command Script(params Command[] batch) => new("eval", [], [.. batch]);

    /// <summary>The keys the command reads or writes: the checker judges each group of keys used together apart.
    /// </summary>
    public IEnumerable<string> Keys => Name switch
    {
        "exec" or "eval" => Batch.SelectMany(command => command.Keys),
        "mset" => Args.Where((_, i) => i % 2 == 0),
        "get" or "set" or "incr" or "expire" or "persist" or "ttl" => Args.Take(1),
        "rpush" or "lpush" or "lpop" or "rpop" or "blpop" or "llen" => Args.Take(1),
        "lmove" => Args.Take(2),
        _ => Args, // del, exists, mget, rename: every argument is a key
    };

    /// <summary>True for a command that changes nothing.</summary>
    public bool ReadsOnly =>
        Name is "get" or "mget" or "ttl" or "exists" or "llen"
        || (Name is "exec" or "eval" && Batch.All(c => c.ReadsOnly));

    public override string ToString() => Name switch
    {
        "exec" => $"multi {string.Join(" ; ", Batch.Select(c => c.ToString()))} exec",
        "eval" => $"eval {string.Join(" ; ", Batch.Select(c => c.ToString()))} end",
        _ => $"{Name} {string.Join(" ", Args)}",
    };
}

/// <summary>
/// One operation: `Client` the connection that sent it (a client that reconnects takes a new number: its requests
/// are served in order on one connection only), `Call` when the request was sent, `Return` when its reply was read
/// (Unanswered: never), in Stopwatch ticks; `Output` the reply, null when unknown.
/// </summary>
public sealed record Operation(int Client, long Call, long Return, Command Input, string? Output)
{
    public const long Unanswered = long.MaxValue;

    public override string ToString()
    {
        var reply = Output ?? "(no reply: the connection dropped)";
        var until = Return == Unanswered ? "..." : $"{Milliseconds(Return):0.000}";
        return $"client {Client,3}  {Input} -> {reply}   [{Milliseconds(Call):0.000} .. {until} ms]";
    }

    /// <summary>A Stopwatch time as milliseconds since the process began recording.</summary>
    public static double Milliseconds(long ticks) => (ticks - Recording.Origin) * 1000.0 / Stopwatch.Frequency;
}

/// <summary>Operations recorded by many clients at once: Begin before sending, End when the reply is read.</summary>
public sealed class Recording
{
    /// <summary>The time histories are printed from, so that a printed time is a small number.</summary>
    public static readonly long Origin = Stopwatch.GetTimestamp();

    private readonly Lock gate = new();
    private readonly List<Operation> operations = [];

    // Makes Origin the time of the first use of this class, not of whenever the runtime chooses to set it.
    static Recording() { }

    public static long Now => Stopwatch.GetTimestamp();

    /// <summary>Records an operation whose call and return times the client took itself.</summary>
    public void Add(Operation operation)
    {
        lock (gate) operations.Add(operation);
    }

    public void Add(int client, long call, Command input, string? output) =>
        Add(new Operation(client, call, output is null ? Operation.Unanswered : Now, input, output));

    public IReadOnlyList<Operation> Operations
    {
        get { lock (gate) return [.. operations]; }
    }
}
