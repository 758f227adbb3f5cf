// src/server/Conversation.cs: one client's connection, whatever protocol it speaks. When its socket has data, read
// what has arrived, answer every whole request in it, send the replies once per batch, and keep a partial
// request for the next read, up to a bound; then wait for more, holding nothing but the socket.
//
// How it waits, which thread wakes it, and how long it may read at one turn of a thread that serves others too, are
// its threading model's (ThreadingModel.cs), which it asks and never names. No model holds a buffer or a task while
// it waits, so an idle client costs its socket and this object. Reading never blocks, and a request costs no
// allocation; only what must wait (a client that does not read its replies, a DeferredReply: a long listing, a
// password's turn) becomes an await, for as long as it waits.
//
// Unsent replies past FlushThresholdBytes are sent before the next request is answered, so a client that does
// not read its replies stops being read (backpressure). What a connection holds (its unfinished request and its
// unsent replies) is reported to the clients' memory budget, which may end it. It keeps the times the server's
// timeouts read: when the last request was completed (a trickle of bytes does not count), when its unsent
// replies last moved, and since when an unfinished request has been waiting.

using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace KV;

public sealed partial class Conversation : IEvictable, IReplyContext
{
    private const long FlushThresholdBytes = OutputBuffer.GrowsFreely;

    public const string ReplyTooLarge =
        "the reply passed the clients' memory budget (--max-client-memory): the request ran, its reply is lost";
    private static readonly TimeSpan LastWordTimeout = TimeSpan.FromSeconds(1);

    private readonly Socket socket;
    private readonly IConnectionThread thread;
    private readonly IRequestHandler handler;
    private readonly ClientMemoryBudget budget;
    private ClientMemoryAccount? memory;
    private readonly InputBuffer input;
    private readonly OutputBuffer output;
    private readonly Action<Conversation, string> ended;
    private ConversationClaim claim; // a mutable struct: never readonly, never copied
    private CancellationTokenSource? abort;
    private long lastCompleted = Environment.TickCount64, quietSince = -1, unfinishedSince = -1;
    private bool turnCut;

    /// <param name="socket">Connected and non-blocking.</param>
    /// <param name="ended">Called once, with the reason for the log, when the conversation is over and the socket
    /// closed.</param>
    /// <param name="threads">The server's threading model, which gives this conversation its thread.</param>
    /// <param name="listener">The feature whose listener accepted it; null for KV's own protocol.</param>
    public Conversation(Socket socket, FeatureListener? listener, IRequestHandler handler, ClientMemoryBudget budget,
        BufferPool pool, IConnectionThreads threads, Action<Conversation, string> ended)
    {
        this.socket = socket;
        Peer = socket.RemoteEndPoint;
        Listener = listener;
        this.handler = handler;
        this.ended = ended;
        this.budget = budget;
        handler.Attach(this);
        input = new InputBuffer(pool);
        output = new OutputBuffer(pool) { Growing = this };
        thread = threads.Attach(this, socket);
    }

    /// <summary>The client's address: the socket's own, which it keeps anyway.</summary>
    public EndPoint? Peer { get; }
    public FeatureListener? Listener { get; }

    /// <summary>
    /// How long the client has let it wait: for a next request, since the last one was completed (bytes of an
    /// unfinished one do not count), or for its replies to be read, since they last moved. Null while it works.
    /// </summary>
    public TimeSpan? Silent => Since(ref quietSince);

    /// <summary>How long the unfinished request in its buffer has been arriving; null when there is none.</summary>
    public TimeSpan? Unfinished => Since(ref unfinishedSince);

    private static TimeSpan? Since(ref long ticks)
    {
        var since = Volatile.Read(ref ticks);
        return since < 0 ? null : TimeSpan.FromMilliseconds(Environment.TickCount64 - since);
    }

    /// <summary>Begins where the model serves it (a first request may already be there).</summary>
    public void Start() => thread.Start();

    /// <summary>
    /// Ends the conversation from outside (the server stops, the client was silent too long, the memory budget
    /// closes it), from any thread, with `reason` as its last word to the client when `lastWord`. A busy
    /// conversation notices at its next read; a waiting one is claimed and ended here, so that nothing depends
    /// on the socket waking it. False when it was already interrupted.
    /// </summary>
    public bool Interrupt(string reason, bool lastWord = false)
    {
        if (!claim.Interrupt(new Interruption(reason, lastWord))) return false;
        // A send or a deferred reply that waits is cancelled; asynchronously, since its continuation must not run on
        // this thread.
        if (Volatile.Read(ref abort) is { } waiting) _ = waiting.CancelAsync();
        if (thread.WakeToEnd()) return true;
        // Here, not in a work item, which under load would wait behind socket events, holding memory the budget took
        // back.
        if (claim.Claim()) _ = EndAsync(reason);
        return true;
    }

    void IEvictable.Evict(string reason) => Interrupt(reason, lastWord: true);

    /// <summary>
    /// From data's arrival until the socket is empty, or the model cuts the turn; then it waits again, or is served
    /// later, and returns.
    /// </summary>
    internal async Task ServeAsync()
    {
        string? reason;
        try
        {
            while ((reason = await AnswerWhatArrivedAsync()) is null)
            {
                if (turnCut)
                {
                    turnCut = false;
                    // Still on the thread that cut the turn (not moved to the pool by a send that waited): the
                    // others it serves go first, and this conversation after them.
                    if (thread.TurnTicks <= 0) continue;
                    thread.ServeLater();
                    return;
                }
                // The wait is posted: the model serves what comes, or Interrupt ends it.
                if (!WaitForData()) return;
            }
        }
        catch (Exception e)
        {
            reason = Failure(e);
        }
        await EndAsync(reason);
    }

    private string Failure(Exception e) => e switch
    {
        OperationCanceledException when claim.Interruption is { } stop => stop.Reason,
        SocketException or IOException or ObjectDisposedException or OperationCanceledException => e.Message,
        // A bug of ours: it costs this one connection, never the server.
        _ => $"internal error: {e.GetType().Name}: {e.Message}",
    };

    /// <summary>
    /// Waits for data as the model does. True when the conversation goes on at once (data is there, or an interruption
    /// to notice); false when the model will serve what comes, or Interrupt has claimed and ends it.
    /// </summary>
    private bool WaitForData()
    {
        Volatile.Write(ref quietSince, Volatile.Read(ref lastCompleted));
        // Given up, then the interruption (and arrivals the model flagged) read: ConversationClaim's handshake.
        var after = claim.Release(arrivals: thread.ReportsArrivals);
        if (after != AfterRelease.Wait) return after == AfterRelease.GoOn && Resumed();
        return thread.WaitForData();
    }

    /// <summary>
    /// Waiting to busy, by whoever brings it work: false when Interrupt claimed the conversation first.
    /// </summary>
    internal bool Resume() => claim.Resume() && Resumed();

    /// <summary>
    /// Busy again: silent no more. Only a conversation that was waiting stops being silent: one that is busy may be
    /// waiting for its client to read (quietSince set by FlushAsync) while its model reports bytes it will not read
    /// yet.
    /// </summary>
    private bool Resumed()
    {
        Volatile.Write(ref quietSince, -1);
        return true;
    }

    /// <summary>Reads until the socket is empty, answering as it goes, and sends the replies.</summary>
    /// <returns>Why the conversation ends; null when everything that arrived is answered and sent.</returns>
    private async ValueTask<string?> AnswerWhatArrivedAsync()
    {
        var (turn, turnEnds) = (thread.TurnTicks, 0L);
        while (true)
        {
            var space = input.FreeSpace();
            var received = thread.IO.Receive(space.Span, out var error);
            if (error == SocketError.WouldBlock) break;
            if (error != SocketError.Success) return new SocketException((int)error).Message;
            if (received == 0)
            {
                // An unfinished last request is dropped, as Redis does: it may be one cut short by a killed client.
                var unfinished = !input.IsEmpty;
                await FlushAsync(0);
                return claim.Interruption?.Reason
                    ?? (unfinished ? "closed by the client in the middle of a request" : "closed by the client");
            }
            input.Received(received);
            // What this read brought in counts at once: it may pass the budget, and end this very connection.
            Hold(input.Footprint + output.Unsent, waiting: false);
            if (claim.Interruption is { } stop) return stop.Reason;
            if (await AnswerAsync() is { } ending)
            {
                await FlushAsync(0);
                return ending;
            }
            // A read that did not fill the space emptied the socket: skip the read that would only say so.
            if (received < space.Length) break;
            // A client that sends without end (a long pipeline, a large value) lets the thread's others go first.
            if (turn <= 0) continue;
            if (turnEnds == 0) turnEnds = Stopwatch.GetTimestamp() + turn;
            else if (Stopwatch.GetTimestamp() >= turnEnds)
            {
                turnCut = true;
                break;
            }
        }
        if (input.IsEmpty) input.Release();
        await FlushAsync(input.Footprint);
        return claim.Interruption?.Reason;
    }

    /// <summary>Answers every whole request in the input; a partial one stays, up to the protocol's bound.</summary>
    private async ValueTask<string?> AnswerAsync()
    {
        var buffer = input.Unanswered;
        string? ending = null;
        while (ending is null && handler.TryAnswer(ref buffer, output, out ending))
        {
            if (handler.TakeDeferred() is { } deferred) ending = await thread.RunDeferred(deferred, this) ?? ending;
            if (output.TakeGrown() is > 0 and var grown) memory?.Unreserve(grown);
            if (output.Overflowed)
            {
                // The request ran; its reply could not be kept: the client is told why, and the connection ends.
                output.EndOverflow();
                handler.WriteError(output, ReplyTooLarge);
                ending = ReplyTooLarge;
            }
            Volatile.Write(ref lastCompleted, Environment.TickCount64);
            Volatile.Write(ref unfinishedSince, -1);
            if (output.Unsent > FlushThresholdBytes) await FlushAsync(input.Footprint);
        }
        if (ending is null && !buffer.IsEmpty)
        {
            ending = handler.RefuseUnfinished(buffer, output);
            if (Volatile.Read(ref unfinishedSince) < 0) Volatile.Write(ref unfinishedSince, Environment.TickCount64);
        }
        input.Consume(buffer.Start);
        return ending;
    }

    /// <summary>
    /// Sends what is waiting; while it waits (a client that does not read), it counts against the budget.
    /// </summary>
    private async ValueTask FlushAsync(long unfinished)
    {
        if (output.Unsent > 0 && !output.TrySend(thread.IO))
        {
            Hold(unfinished + output.Unsent, waiting: true);
            var cancel = Cancellation;
            do
            {
                // The client is silent for as long as its replies do not move.
                Volatile.Write(ref quietSince, Environment.TickCount64);
                var sending = output.SendSomeAsync(socket, cancel);
                if (thread.BlocksToSend) sending.AsTask().GetAwaiter().GetResult();
                else await sending;
            }
            // Resumed on the pool, where .NET completes a send: a client this slow to read never holds up a loop.
            while (!output.TrySend(thread.IO));
            Volatile.Write(ref quietSince, -1);
        }
        Hold(unfinished, waiting: true);
    }

    /// <summary>
    /// Reports what the connection holds to the clients' budget. A busy connection's one block is left out (there
    /// are no more of them than threads), so most connections, which never hold more and never wait holding
    /// anything, never touch the total all connections share and never open an account.
    /// </summary>
    private void Hold(long bytes, bool waiting)
    {
        if (memory is null && (bytes == 0 || (!waiting && bytes <= BufferPool.BlockSize))) return;
        (memory ??= budget.Open(this)).Hold(bytes);
    }

    /// <summary>
    /// Made only by a conversation that has had to wait (to send, or for a deferred reply); Interrupt cancels it.
    /// </summary>
    public CancellationToken Cancellation
    {
        get
        {
            // Published with a full fence before the interruption is read: Interrupt writes the interruption, then
            // reads this, so at least one of the two sees the other and nothing is left waiting uncancelled.
            if (Volatile.Read(ref abort) is not { } made)
            {
                made = new CancellationTokenSource();
                Interlocked.Exchange(ref abort, made);
            }
            if (claim.Interruption is not null) made.Cancel();
            return made.Token;
        }
    }

    IBufferWriter<byte> IReplyContext.Output => output;
    long IReplyContext.ClientMemoryLimit => budget.Limit;
    bool IReplyBudget.TryReserve(long bytes, bool makeRoom) =>
        (memory ??= budget.Open(this)).TryReserve(bytes, makeRoom);
    void IReplyContext.Unreserve(long bytes) => memory?.Unreserve(bytes);
    ValueTask IReplyContext.FlushAsync() => FlushAsync(input.Footprint);
    void IReplyContext.WriteError(string message) => handler.WriteError(output, message);
    Task IReplyContext.ClientSpeaksAsync() => socket.DataOrEndAsync(Cancellation);
    bool IReplyContext.ClientLeft => socket.Available == 0 && socket.Poll(0, SelectMode.SelectRead);
    bool IReplyContext.ReplyCut => output.Overflowed;

    private async Task EndAsync(string reason)
    {
        if (claim.Interruption is { LastWord: true } last) await LastWordAsync(last.Reason);
        memory?.Dispose();
        thread.Dispose();
        handler.Ended();
        socket.Dispose();
        input.Release();
        output.Release();
        ended(this, reason);
    }

    /// <summary>
    /// The error that explains why the server ends the connection, sent if the client will take it within a second.
    /// </summary>
    private async Task LastWordAsync(string error)
    {
        try
        {
            handler.WriteError(output, error);
            using var patience = new CancellationTokenSource(LastWordTimeout);
            if (!output.TrySend(thread.IO)) await output.SendRestAsync(socket, patience.Token);
        }
        catch (Exception e)
            when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException) { }
    }
}
