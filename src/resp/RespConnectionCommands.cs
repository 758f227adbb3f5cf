// src/resp/RespConnectionCommands.cs: the RESP commands about the connection rather than the data: QUIT, SELECT, HELLO,
// CLIENT, AUTH, with Redis's replies and words. What a client library sends when it connects is here
// (RespCommands.cs's table names these methods); the password's turn is PasswordGate's, as for KV's `auth`.

using System.Buffers;
using System.Text;

namespace KV;

public static class RespConnectionCommands
{
    public static void Quit(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        session.Quitting = true;
        RespReply.Ok(output);
    }

    public static void Select(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (!long.TryParse(args[1], out var index)) RespReply.Error(output, "value is not an integer or out of range");
        else if (index != 0) RespReply.Error(output, "DB index is out of range");
        else RespReply.Ok(output);
    }

    public static void Hello(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var version = (long)session.Protocol;
        if (args.Count > 1 && !long.TryParse(args[1], out version))
        {
            RespReply.Error(output, "Protocol version is not an integer or out of range");
            return;
        }
        if (version is not (2 or 3))
        {
            RespReply.Error(output, "unsupported protocol version", prefix: "NOPROTO");
            return;
        }
        // HELLO 2|3 [AUTH username password] [SETNAME name]
        (byte[] User, byte[] Password)? auth = null;
        string? name = null;
        for (var i = 2; i < args.Count; i++)
        {
            if (args.Is(i, "auth"u8) && i + 2 < args.Count)
            {
                auth = (args[i + 1].ToArray(), args[i + 2].ToArray());
                i += 2;
            }
            else if (args.Is(i, "setname"u8) && i + 1 < args.Count)
            {
                if (NameProblem(args[++i]) is { } problem)
                {
                    RespReply.Error(output, problem);
                    return;
                }
                name = args.Text(i);
            }
            else
            {
                RespReply.Error(output, "syntax error");
                return;
            }
        }
        if (auth is not { } given) Greet(session, (int)version, name, output);
        else session.Deferred = async context =>
        {
            if (await TryAuthenticateAsync(session, given.User, given.Password, context)) Greet(session, (int)version,
                name, context.Output);
            return null;
        };
    }

    /// <summary>HELLO's reply, once the client is known.</summary>
    public static void Greet(RespSession session, int protocol, string? name, IBufferWriter<byte> output)
    {
        if (!session.Access.Authenticated)
        {
            RespReply.Error(output,
                "HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> " +
                "<pass> option can be used to authenticate the client and select the RESP protocol version at the " +
                "same time", prefix: "NOAUTH");
            return;
        }
        if (name is not null) session.Name = name;
        // From here on the connection speaks the version asked for: in RESP3 a null is `_` and a map `%`.
        session.Protocol = protocol;
        RespReply.MapHeader(output, 7, session.Protocol);
        RespReply.Bulk(output, "server");
        RespReply.Bulk(output, "kv");
        RespReply.Bulk(output, "version");
        RespReply.Bulk(output, RespInfo.RedisVersion);
        RespReply.Bulk(output, "proto");
        RespReply.Integer(output, protocol);
        RespReply.Bulk(output, "id");
        RespReply.Integer(output, session.Id);
        RespReply.Bulk(output, "mode");
        RespReply.Bulk(output, "standalone");
        RespReply.Bulk(output, "role");
        RespReply.Bulk(output, "master");
        RespReply.Bulk(output, "modules");
        RespReply.EmptyArray(output);
    }

    /// <summary>
    /// TIME: the store's clock (so a test's clock too), as Redis gives it: seconds and microseconds, as bulk strings.
    /// </summary>
    public static void Time(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var micros = (session.Store.Clock.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks / 10;
        RespReply.ArrayHeader(output, 2);
        RespReply.Bulk(output, (micros / 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture));
        RespReply.Bulk(output, (micros % 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }


    /// <summary>
    /// The longest connection name: a name is kept for the connection's life, so it is bounded like anything a client
    /// makes the server hold.
    /// </summary>
    public const int MaxNameBytes = 256;

    /// <summary>
    /// Redis's rule (no spaces, line breaks or other characters outside '!' to '~'), and KV's bound on the length.
    /// </summary>
    private static string? NameProblem(ReadOnlySpan<byte> name) =>
        name.Length > MaxNameBytes ? $"Client names are limited to {MaxNameBytes} bytes"
        : name.IndexOfAnyExceptInRange((byte)'!',
            (byte)'~') >= 0 ? "Client names cannot contain spaces, newlines or special characters."
        : null;

    /// <summary>CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 when that client was waiting and now is not, else 0.</summary>
    private static void Unblock(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        var error = args.Count == 4 && args.Is(3, "error"u8);
        if (args.Count == 4 && !error && !args.Is(3, "timeout"u8))
        {
            RespReply.Error(output, "CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
            return;
        }
        if (!RequestParser.TryParseInteger(args[2], out var id))
        {
            RespReply.Error(output, "value is not an integer or out of range");
            return;
        }
        var waiting = session.Activity.Existing<RespClients>()?.All.FirstOrDefault(c => c.Id == id)?.Unblock;
        waiting?.Invoke(error);
        RespReply.Integer(output, waiting is null ? 0 : 1);
    }

    public static void Client(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (args.Is(1, "id"u8) && args.Count == 2) RespReply.Integer(output, session.Id);
        else if (args.Is(1, "setname"u8) && args.Count == 3)
        {
            if (NameProblem(args[2]) is { } problem) RespReply.Error(output, problem);
            else
            {
                session.Name = args[2].IsEmpty ? null : Encoding.ASCII.GetString(args[2]);
                RespReply.Ok(output);
            }
        }
        else if (args.Is(1, "getname"u8) && args.Count == 2)
        {
            if (session.Name is { } name) RespReply.Bulk(output, name);
            else RespReply.Null(output, session.Protocol);
        }
        else if (args.Is(1, "setinfo"u8) && args.Count == 4) RespReply.Ok(output);
        else if (args.Is(1, "unblock"u8) && args.Count is 3 or 4) Unblock(session, args, output);
        else if (args.Is(1, "list"u8) && args.Count == 2) RespReply.Bulk(output, string.Concat(
            (session.Activity.Existing<RespClients>()?.All ?? [session]).OrderBy(client => client.Id)
            .Select(client => $"id={client.Id} addr={client.Address} name={client.Name} db=0 multi="
                + $"{(client.Transaction is null ? -1 : client.Transaction.Commands.Count)} user=default "
                + $"resp={client.Protocol}\n")));
        else if (args.Is(1, "reply"u8) && args.Count == 3) Reply(session, args, output);
        else if (args.Is(1, "help"u8) && args.Count == 2)
            RespReply.Help(output, "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "ID",
                "    Return the ID of the current connection.",
                "GETNAME", "    Return the name of the current connection.", "SETNAME <name>",
                    "    Assign the name <name> to the current connection.",
                "SETINFO <LIB-NAME|LIB-VER> <value>", "    Accepted and ignored: KV keeps no library names.",
                "LIST", "    Return the RESP connections: id, address, name, protocol.",
                "UNBLOCK <clientid> [TIMEOUT|ERROR]", "    End a client's wait in a blocking command.",
                "REPLY (ON|OFF|SKIP)", "    Replies sent, none, or none for the next command; pushes always sent.",
                "HELP", "    Print this help.");
        else RespReply.UnknownSubcommand(output, args.Text(1), "CLIENT");
    }

    /// <summary>
    /// CLIENT REPLY ON|OFF|SKIP: replies sent, none sent, or none for the next request. OFF and SKIP are not answered;
    /// ON is, even when replies were off. What is pushed (messages, subscription confirmations) is always sent.
    /// </summary>
    private static void Reply(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (args.Is(2, "on"u8))
        {
            session.Replies = ReplyMode.On;
            RespReply.Ok(session.Always ?? output);
        }
        else if (args.Is(2, "off"u8)) session.Replies = ReplyMode.Off;
        else if (args.Is(2, "skip"u8)) session.Replies = ReplyMode.SkipNext;
        else RespReply.Error(output, "syntax error");
    }

    /// <summary>AUTH password, or AUTH default password (Redis 6's form, with its only user).</summary>
    public static void Auth(RespSession session, RespArguments args, IBufferWriter<byte> output)
    {
        if (args.Count > 3)
        {
            RespReply.Error(output, "syntax error");
            return;
        }
        var user = args.Count == 3 ? args[1].ToArray() : "default"u8.ToArray();
        var password = args[^1].ToArray();
        session.Deferred = async context =>
        {
            if (await TryAuthenticateAsync(session, user, password, context)) RespReply.Ok(context.Output);
            return null;
        };
    }

    /// <summary>
    /// True when admitted, at the address's turn; otherwise the refusal is written, in Redis's words where Redis has
    /// them.
    /// </summary>
    private static async ValueTask<bool> TryAuthenticateAsync(RespSession session, byte[] user, byte[] password,
        IReplyContext context)
    {
        switch (await session.Access.TryAsync(password, knownUser: Ascii.EqualsIgnoreCase(user, "default"u8),
            context.Cancellation))
        {
            case AuthResult.Admitted:
                return true;
            case AuthResult.NoPassword:
                RespReply.Error(context.Output,
                    "AUTH <password> called without any password configured for the default user. Are you sure your " +
                    "configuration is correct?");
                return false;
            case AuthResult.TooManyAttempts:
                RespReply.Error(context.Output, Errors.TooManyAttempts);
                return false;
            default:
                RespReply.Error(context.Output, "invalid username-password pair or user is disabled.",
                    prefix: "WRONGPASS");
                return false;
        }
    }
}
