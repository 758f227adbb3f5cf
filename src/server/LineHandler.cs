// src/server/LineHandler.cs: KV's own protocol on one connection, for Conversation's loop: a request is a line
// (LineFraming), and Execute runs one parsed request against the store and writes its reply.
//
// A line longer than --max-line-bytes, finished or not, is answered with an ERROR and ends the connection. The
// steps every request takes on either protocol (the password's gate, counting, the observers, a feature's mode, the
// script gate) are ClientSession.Serve's; this file gives them KV's words. The commands a feature serves (monitor,
// pub/sub) are answered by what it registered (LineCommands.cs).

using System.Buffers;
using System.Globalization;
using System.Text;

namespace KV;

public sealed class LineHandler(ClientSession session, int maxLineBytes) : IRequestHandler
{
    private readonly KeyValueStore store = session.Store;
    private readonly ConnectionAccess access = session.Access;

    /// <summary>The bytes of the unfinished line known to hold no LF (LineFraming.TryReadLine).</summary>
    private long searched;

    public DeferredReply? TakeDeferred() => session.TakeDeferred();

    public void WriteError(IBufferWriter<byte> output, string message) => ReplyWriter.Error(output, message);

    public void Attach(IReplyContext connection) => session.Connection = connection;

    /// <summary>The connection ended: the mode a feature held it in lets go (a subscriber's subscriptions).</summary>
    public void Ended() => session.Mode?.Ended();

    public bool TryAnswer(ref ReadOnlySequence<byte> buffer, IBufferWriter<byte> output, out string? ending)
    {
        ending = null;
        if (!LineFraming.TryReadRequest(ref buffer, out var line, ref searched)) return false;
        session.MoreBuffered = !buffer.IsEmpty;
        if (line.Length > maxLineBytes) ending = RefuseLongLine(output);
        else if (session.AnswersApart(line.Length)) session.AnswerApart(apart => Execute(line, apart) ? "exit" : null);
        else if (Execute(line, output)) ending = "exit";
        return true;
    }

    /// <summary>No LF yet: the conversation keeps the partial line for the next read, up to the limit.</summary>
    public string? RefuseUnfinished(ReadOnlySequence<byte> unfinished, IBufferWriter<byte> output) =>
        unfinished.Length > maxLineBytes ? RefuseLongLine(output) : null;

    private string RefuseLongLine(IBufferWriter<byte> output)
    {
        var error = Errors.LineTooLong(maxLineBytes);
        ReplyWriter.Error(output, error);
        session.Activity.ClosedByLimit();
        return error;
    }

    private bool Execute(ReadOnlySequence<byte> line, IBufferWriter<byte> output)
    {
        if (line.IsSingleSegment) return Execute(line.FirstSpan, output);
        var length = (int)line.Length;
        var copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            line.CopyTo(copy);
            return Execute(copy.AsSpan(0, length), output);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    /// <summary>
    /// Answers one request line (without its LF or CRLF). True when the connection is to be closed (`exit`).
    /// </summary>
    private bool Execute(ReadOnlySpan<byte> line, IBufferWriter<byte> output)
    {
        var parsed = RequestParser.Parse(line);
        if (parsed.Error is { } error)
        {
            ReplyWriter.Error(output, error);
            return false;
        }
        if (parsed.Command is not { } command) return false;
        var request = new LineRequest(this, line, parsed, command, output);
        session.Serve(ref request);
        return request.Ending;
    }

    /// <summary>A parsed line as ClientSession.Serve asks it.</summary>
    private ref struct LineRequest(LineHandler handler, ReadOnlySpan<byte> line, ParsedRequest request,
        CommandSpec command, IBufferWriter<byte> output) : IServedRequest
    {
        private readonly ReadOnlySpan<byte> line = line;
        private readonly ParsedRequest request = request;

        /// <summary>Set by Run: the connection closes after this reply (`exit`).</summary>
        public bool Ending { get; private set; }

        public readonly bool BeforeAuth => command.BeforeAuth;
        public readonly bool Gated => true;
        public readonly IBufferWriter<byte> Sent => output;
        public readonly void RefuseUnauthenticated() => ReplyWriter.Error(output, Errors.AuthenticationRequired);
        public readonly bool Admissible() => true;
        public readonly ObservedRequest Observed() => handler.Observed(line, command);
        public readonly bool AnsweredBy(IConnectionMode mode) => mode.Refuses(command, output);
        public readonly void RefuseBusy() => ReplyWriter.Error(output, Errors.Busy);

        public void Run()
        {
            try
            {
                Ending = handler.Run(request, command, output);
            }
            catch (WrongKindException wrong)
            {
                // A key of a kind the command does not work on (`get` of a list): refused before anything changed.
                ReplyWriter.Error(output, Errors.WrongKind(command, request.Key, wrong.Held));
            }
        }
    }

    private bool Run(ParsedRequest request, CommandSpec command, IBufferWriter<byte> output)
    {
        switch (command.Kind)
        {
            case CommandKind.Get:
                if (!store.TryRead(request.Key, output, static (value, output) => ReplyWriter.Value(output, value)))
                    ReplyWriter.Error(output, Errors.NotFound(request.Key));
                return false;
            case CommandKind.Set:
                SetAndAnnounce(request.Key, request.Value, Expiry.Clear, output);
                return false;
            case CommandKind.Del:
                if (store.Delete(request.Key)) ReplyWriter.Ok(output);
                else ReplyWriter.Error(output, Errors.NotFound(request.Key));
                return false;
            case CommandKind.List:
                session.Deferred = new Listing(store, filter: null, ReplyWriter.KeysHeader, ReplyWriter.Key).RunAsync;
                return false;
            case CommandKind.Incr or CommandKind.Decr:
                Increment(command.Kind, request.Key, request.Amount, output);
                return false;
            case CommandKind.SetEx:
                SetAndAnnounce(request.Key, request.Value, Expiry.At(store.Now + request.Amount * 1000), output);
                return false;
            case CommandKind.Expire:
                if (store.Expire(request.Key, store.Now + request.Amount * 1000) is null)
                    ReplyWriter.Error(output, Errors.NotFound(request.Key));
                else ReplyWriter.Ok(output);
                return false;
            case CommandKind.Ttl:
                var (found, deadline) = store.DeadlineOf(request.Key);
                if (!found) ReplyWriter.Error(output, Errors.NotFound(request.Key));
                // Rounded to the nearest second, as Redis's TTL is: a key just given 10 s shows 10.
                else ReplyWriter.Ttl(output, deadline is { } at ? (Math.Max(0, at - store.Now) + 500) / 1000 : null);
                return false;
            case CommandKind.Persist:
                if (store.Persist(request.Key) is null) ReplyWriter.Error(output, Errors.NotFound(request.Key));
                else ReplyWriter.Ok(output);
                return false;
            case CommandKind.Stats:
                ReplyWriter.Stats(output, ServerStats.Read(session.Server, store));
                return false;
            case CommandKind.Ping:
                ReplyWriter.Pong(output);
                return false;
            case CommandKind.Help:
                ReplyWriter.Help(output, Commands.HelpFor(request.Topic));
                return false;
            case CommandKind.Exit:
                ReplyWriter.Bye(output);
                return true;
            case CommandKind.Auth:
                var attempt = request.Value.ToArray();
                session.Deferred = async context =>
                {
                    switch (await access.TryAsync(attempt, knownUser: true, context.Cancellation))
                    {
                        case AuthResult.NoPassword: ReplyWriter.Error(context.Output, Errors.NoPassword); break;
                        case AuthResult.Admitted: ReplyWriter.Ok(context.Output); break;
                        case AuthResult.TooManyAttempts:
                            ReplyWriter.Error(context.Output, Errors.TooManyAttempts);
                            break;
                        default: ReplyWriter.Error(context.Output, Errors.WrongPassword); break;
                    }
                    return null;
                };
                return false;
            default:
                if (LineCommands.Find(command.Kind) is { } served) return served(session, request, output);
                ReplyWriter.Error(output, Errors.NotBuiltIn(command));
                return false;
        }
    }

    /// <summary>`set` and `setex`: stored and announced, or the budget's error.</summary>
    private void SetAndAnnounce(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, Expiry expiry,
        IBufferWriter<byte> output)
    {
        if (store.SetAnnounced(key, value, SetCondition.Always, expiry, wantPrevious: false, out _)
            == SetResult.OutOfMemory)
        {
            ReplyWriter.Error(output, Errors.OutOfMemory(store.AccountedBytes, store.MaxBytes));
            return;
        }
        ReplyWriter.Ok(output);
    }

    /// <summary>
    /// `incr KEY [AMOUNT]`, `decr KEY [AMOUNT]`: the store adds under its lock; the reply is the new value.
    /// </summary>
    private void Increment(CommandKind kind, ReadOnlySpan<byte> key, long amount, IBufferWriter<byte> output)
    {
        // decr's AMOUNT is subtracted: the one AMOUNT that cannot be negated would overflow whatever is stored.
        var value = 0L;
        var result = kind == CommandKind.Decr && amount == long.MinValue ? IncrementResult.Overflow
            : store.Increment(key, kind == CommandKind.Decr ? -amount : amount, out value);
        Span<byte> digits = stackalloc byte[20];
        switch (result)
        {
            case IncrementResult.Done:
                value.TryFormat(digits, out var length, provider: CultureInfo.InvariantCulture);
                ReplyWriter.Value(output, digits[..length]);
                break;
            case IncrementResult.NotAnInteger: ReplyWriter.Error(output, Errors.NotAnInteger(key)); break;
            case IncrementResult.Overflow: ReplyWriter.Error(output, Errors.WouldOverflow(kind)); break;
            default: ReplyWriter.Error(output, Errors.OutOfMemory(store.AccountedBytes, store.MaxBytes)); break;
        }
    }

    /// <summary>
    /// A request as the observers see it: its words one space apart as typed, a quoted one decoded, `auth`'s
    /// password redacted.
    /// </summary>
    private ObservedRequest Observed(ReadOnlySpan<byte> line, CommandSpec command)
    {
        var words = new List<ObservedWord>(3);
        var rest = line;
        // The name, then the key of a pair (its value is the rest, verbatim), else the words one space apart.
        for (var word = 0; !rest.IsEmpty; word++)
        {
            if (word == 1 && command.Arguments == ArgumentShape.Secret)
            {
                words.Add(ObservedWord.Redacted);
                break;
            }
            var space = rest.IndexOf((byte)' ');
            var end = space < 0 || (word == 2 && command.Arguments is ArgumentShape.KeyValue
                or ArgumentShape.ChannelMessage) ? rest.Length : space;
            if (rest[0] == '"' && QuotedForm.TryRead(rest, out var used, out _) is { } decoded)
            {
                words.Add(ObservedWord.Of(decoded));
                end = used;
            }
            else words.Add(ObservedWord.Of(rest[..end]));
            rest = end >= rest.Length ? default : rest[(end + 1)..];
        }
        return new ObservedRequest(session.Activity.Time.GetUtcNow(), session.Id, session.Address,
            ThreadingModels.ThreadLabel, Typed: true, [.. words]);
    }
}
