// src/server/ClientSession.cs: what the server keeps for one client, whichever protocol it speaks: the store and the
// server it talks to, its password state, the id and address that `monitor` and the log show, and the part of its
// last answer that must wait, and the mode a feature may hold it in (a subscriber); and the steps every request
// takes on either protocol (Serve). LineHandler uses it as it is; RESP's session adds what Redis keeps per client.

using System.Buffers;
using System.Net;

namespace KV;

public class ClientSession(KeyValueStore store, IServerFacts server, ConnectionAccess access, EndPoint? peer)
{
    private string? address;

    public KeyValueStore Store => store;
    public IServerFacts Server => server;
    public ServerActivity Activity => server.Activity;
    public ConnectionAccess Access => access;

    /// <summary>Numbered from 1 in the order clients arrive, over both protocols (Redis's CLIENT ID).</summary>
    public long Id { get; } = server.NextClientId();

    /// <summary>
    /// The client's address as a person reads it; made the first time it is shown, not for every connection.
    /// </summary>
    public string Address => address ??= NameOf(peer);

    /// <summary>
    /// The connection (IReplyContext), for what the client holds against the clients' budget: a transaction, a
    /// subscriber's queue.
    /// </summary>
    public IReplyContext? Connection { get; set; }

    /// <summary>The mode a feature holds the connection in (src/pubsub's subscriber); null in none.</summary>
    public IConnectionMode? Mode { get; set; }

    /// <summary>
    /// Whether more bytes followed the request being answered in what was read (a pipeline): a subscriber then answers
    /// them before it waits for messages, since the client, having sent them, sends nothing more until they are
    /// answered.
    /// </summary>
    public bool MoreBuffered { get; set; }

    /// <summary>The part of the last answer that must wait (the handler hands it to the conversation).</summary>
    public DeferredReply? Deferred { get; set; }

    /// <summary>
    /// True while the request runs inside another's step (EXEC, a script), where nothing may wait: a blocking pop
    /// answers at once with what there is, as Redis's does.
    /// </summary>
    public bool InStep { get; set; }

    /// <summary>
    /// Set while the client waits in a feature's blocking command (BLPOP): ends the wait as its timeout would
    /// (false) or with an error (true), for CLIENT UNBLOCK; null when it is not waiting.
    /// </summary>
    public Action<bool>? Unblock { get; set; }

    /// <summary>
    /// The steps every request takes once its protocol has read it, written once for both protocols: the password's
    /// gate and the protocol's own checks; then it is counted, shown to the observers (monitor), what the connection's
    /// mode owes the client goes first and the mode may answer it (a subscriber's refusal), a script past its time
    /// limit refuses it (the gate), or it runs. Whatever the outcome, a connection in a mode then waits for what the
    /// mode brings (a subscriber's messages) whenever it has nothing else to answer.
    /// </summary>
    public void Serve<TRequest>(scoped ref TRequest request) where TRequest : IServedRequest, allows ref struct
    {
        if (!Access.Authenticated && !request.BeforeAuth)
        {
            request.RefuseUnauthenticated();
            return;
        }
        if (!request.Admissible()) return;
        var activity = Activity;
        activity.RequestServed();
        if (activity.Observers.Anyone) activity.Observers.Publish(request.Observed());
        var mode = Mode is { Active: true } active ? active : null;
        mode?.WriteOwed(request.Sent);
        if (mode is null || !request.AnsweredBy(mode))
        {
            if (request.Gated && activity.Gate is { } gate && !gate.Admit()) request.RefuseBusy();
            else request.Run();
        }
        if (Mode is { Active: true } still && Deferred is null && !MoreBuffered) Deferred = still.WaitAsync;
    }

    /// <summary>
    /// A request this large is answered apart from a thread that serves connections by turns (an event loop): its
    /// own work (a value copied into a larger slab, thousands of channels or keys) would hold up the loop's others.
    /// </summary>
    public const int LargeRequestBytes = 256 * 1024;

    /// <summary>Whether a request of `bytes` is to be answered apart (AnswerApart), not here.</summary>
    public bool AnswersApart(long bytes) => bytes > LargeRequestBytes && ThreadingModels.ServesByTurns && !InStep;

    /// <summary>
    /// Defers the whole answer (`answer`, which returns why the connection must close, or null) to where the model
    /// runs long work; what the answer defers in turn (a listing, a subscriber's wait) runs after it, there. The
    /// request's bytes stay where they are until then: a conversation consumes them once their answer is done.
    /// </summary>
    public void AnswerApart(Func<IBufferWriter<byte>, string?> answer) => Deferred = async context =>
        answer(context.Output) ?? (TakeDeferred() is { } next ? await next(context) : null);

    public DeferredReply? TakeDeferred()
    {
        var taken = Deferred;
        Deferred = null;
        return taken;
    }

    /// <summary>The client's IP address, the same for IPv4 over the dual-stack listener as for IPv4 itself.</summary>
    public static IPAddress AddressOf(EndPoint? peer) => peer switch
    {
        IPEndPoint { Address.IsIPv4MappedToIPv6: true } ip => ip.Address.MapToIPv4(),
        IPEndPoint ip => ip.Address,
        _ => IPAddress.None,
    };

    /// <summary>
    /// An IPv4 client of the dual-stack listener shows as 127.0.0.1:5000, not [::ffff:127.0.0.1]:5000.
    /// </summary>
    public static string NameOf(EndPoint? peer) => peer switch
    {
        IPEndPoint ip => new IPEndPoint(AddressOf(ip), ip.Port).ToString(),
        null => "?",
        _ => peer.ToString()!,
    };
}

/// <summary>
/// One request as Serve asks it, in its protocol's words: a struct (a ref struct on KV's protocol, which reads the
/// line where it lies), so that the steps are compiled for each protocol and cost no allocation.
/// </summary>
public interface IServedRequest
{
    /// <summary>Served to a connection that has not given the password yet.</summary>
    bool BeforeAuth { get; }

    /// <summary>Held back by the gate (a script past its time limit); false for what must pass (SCRIPT KILL).</summary>
    bool Gated { get; }

    /// <summary>Where what the mode owes is written: what is sent even when the replies are off (RESP's CLIENT REPLY).
    /// </summary>
    IBufferWriter<byte> Sent { get; }

    void RefuseUnauthenticated();

    /// <summary>The protocol's checks after the password's (RESP's arity); false when it wrote a refusal.</summary>
    bool Admissible();

    ObservedRequest Observed();

    /// <summary>True when the mode answered the request itself (a refusal, RESP2's subscribed PING).</summary>
    bool AnsweredBy(IConnectionMode mode);

    void RefuseBusy();
    void Run();
}

/// <summary>
/// A state a feature holds a connection in (a subscriber), seen around each of its requests on either protocol: what
/// the client is owed is written before the next reply, a request the mode does not allow is refused, and when the
/// connection has nothing else to answer it waits for what the mode brings.
/// </summary>
public interface IConnectionMode
{
    /// <summary>Whether the connection is still in the mode (a subscription left).</summary>
    bool Active { get; }

    /// <summary>What the client is owed before the next reply (messages published meanwhile).</summary>
    void WriteOwed(IBufferWriter<byte> output);

    /// <summary>KV's protocol: true when the mode does not allow the command, after writing the refusal.</summary>
    bool Refuses(CommandSpec command, IBufferWriter<byte> output);

    /// <summary>The deferred reply that writes what the mode brings, until the client sends again or leaves.</summary>
    ValueTask<string?> WaitAsync(IReplyContext connection);

    /// <summary>The connection has ended: what the mode holds elsewhere (subscriptions) is let go.</summary>
    void Ended();
}
