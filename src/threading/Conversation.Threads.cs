// src/threading/Conversation.Threads.cs: what the two models of this folder ask of a conversation beyond the pool's
// way: a thread for each client serves the whole conversation on its own thread, blocking wherever it waits, and
// ends one it could not start; an event loop tells it of every arrival of bytes (and the claim takes the arrival).

namespace KV;

public sealed partial class Conversation
{
    /// <summary>Ends a conversation its model could not start (no thread to be had), telling the client why.</summary>
    internal void EndUnstarted(string reason)
    {
        claim.Interrupt(new Interruption(reason, LastWord: true));
        _ = EndAsync(reason);
    }

    /// <summary>
    /// The whole conversation on the calling thread, which blocks wherever it waits: for data (WaitForData), for a
    /// client to take its replies, for a deferred reply (a model with a thread for each client).
    /// </summary>
    internal void ServeOnThisThread()
    {
        string? reason;
        try
        {
            while ((reason = Blocking(AnswerWhatArrivedAsync())) is null) WaitForData();
        }
        catch (Exception e)
        {
            reason = Failure(e);
        }
        EndAsync(reason).GetAwaiter().GetResult();
    }

    internal static T Blocking<T>(ValueTask<T> task) => task.IsCompletedSuccessfully
        ? task.Result : task.AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Bytes have arrived, says a model that reports every arrival (an event loop), on its thread. A waiting
    /// conversation is answered here; a busy one finds the flag when it would wait. Flag first, state second, and
    /// the other way round in WaitForData, each with a full fence: at least one side sees the other.
    /// </summary>
    internal void BytesArrived()
    {
        if (!claim.Arrived()) return;
        Resumed();
        _ = ServeAsync();
    }
}

public partial struct ConversationClaim
{
    /// <summary>
    /// The loops model's event loop: bytes have arrived. True when the caller now serves the conversation; false when a
    /// thread has it (it finds the flag when it would wait) or Interrupt claimed it. Flag first, state second.
    /// </summary>
    public bool Arrived()
    {
        Step("flag the arrival", ref arrived, static (ref shared) => Interlocked.Exchange(ref shared, 1));
        if (!Resume()) return false;
        Volatile.Write(ref arrived, 0);
        return true;
    }
}
