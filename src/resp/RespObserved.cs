// src/resp/RespObserved.cs: a RESP request as the core's request observers see it (src/server/Observers.cs): its
// arguments, long ones cut short, and AUTH's password (and HELLO's AUTH) redacted as Redis does.

namespace KV;

public static class RespObserved
{
    /// <summary>The request; `address` stands for the client's where there is none (a script's commands: `lua`).
    /// </summary>
    public static ObservedRequest Of(RespSession session, RespArguments args, string? address = null)
    {
        var words = new ObservedWord[args.Count];
        var redacted = args.Is(0, "auth"u8) ? 1 : int.MaxValue;
        for (var i = 0; i < words.Length; i++)
        {
            if (i >= redacted && i < redacted + (args.Is(0, "auth"u8) ? args.Count : 2))
            {
                words[i] = ObservedWord.Redacted;
                continue;
            }
            words[i] = ObservedWord.Of(args[i]);
            if (args.Is(0, "hello"u8) && args.Is(i, "auth"u8)) redacted = i + 1;
        }
        return new ObservedRequest(session.Activity.Time.GetUtcNow(), session.Id, address ?? session.Address,
            ThreadingModels.ThreadLabel, Typed: false, words);
    }
}
