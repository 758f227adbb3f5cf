// src/server/ConversationClaim.cs: who moves a conversation on, decided without a lock between the threads that meet
// there: its own (answering, then about to wait), Interrupt from any thread (a stop, a timeout, the memory budget),
// and the arrival of bytes (the loops model's event loop, the pool's socket engine).
//
// A conversation is Busy (a thread answers it), Waiting (no thread has it: bytes or an interruption will move it) or
// Claimed (Interrupt took it while it waited, and ends it). Each side writes its own fact first and reads the other's
// second, each with a full fence (Interlocked), so that at least one of them sees the other: an interruption or an
// arrival is never missed, and a conversation is never taken by two threads at once. Every step another thread may
// come between is a named step point, where a test's scheduler (tests/Harness.Interleavings.cs) switches threads to
// explore every order of these steps; the server passes no scheduler.

namespace KV;

/// <summary>Why a conversation is ended from outside, and whether the client is told (its last word).</summary>
public sealed record Interruption(string Reason, bool LastWord);

/// <summary>Where a test may switch threads (its scheduler runs one thread at a time); the server has none.</summary>
public interface IStepPoints
{
    void Reach(string point);
}

/// <summary>What the conversation's own thread does after giving it up: go on, wait, or leave it to Interrupt.
/// </summary>
public enum AfterRelease { GoOn, Wait, Claimed }

/// <summary>
/// A struct, kept inside its Conversation (never copied: a field that is not readonly), so that an idle connection
/// costs no more for it.
/// </summary>
public partial struct ConversationClaim(IStepPoints? steps)
{
    private const int Busy = 0, Waiting = 1, Claimed = 2;
    private int state = Busy;
    private int arrived;
    private Interruption? interruption;

    /// <summary>The interruption, once there is one.</summary>
    public Interruption? Interruption =>
        Step("read the interruption", ref interruption, static (ref shared) => Volatile.Read(ref shared));

    /// <summary>Interrupt's first step, from any thread: the first interruption is kept; false when one was.</summary>
    public bool Interrupt(Interruption reason) =>
        Step("interrupt", ref interruption, (ref shared) => Interlocked.CompareExchange(ref shared, reason, null))
            is null;

    /// <summary>
    /// Interrupt's second step, after the first: a waiting conversation is taken by the interrupter, who ends it;
    /// a busy one is left to its thread, which sees the interruption at its next step.
    /// </summary>
    public bool Claim() =>
        Step("claim", ref state, static (ref shared) => Interlocked.CompareExchange(ref shared, Claimed, Waiting))
            == Waiting;

    /// <summary>
    /// The conversation's own thread, about to wait: no thread has it now. Then, the other way round from Interrupt, it
    /// reads whether it must go on (an interruption to notice; with `arrivals`, bytes flagged while it was busy), and
    /// if so takes it back, unless Interrupt claimed it first.
    /// </summary>
    public AfterRelease Release(bool arrivals)
    {
        Step("release", ref state, static (ref shared) => Interlocked.Exchange(ref shared, Waiting));
        var goOn = Interruption is not null || (arrivals && TakeArrival());
        return !goOn ? AfterRelease.Wait : Resume() ? AfterRelease.GoOn : AfterRelease.Claimed;
    }

    /// <summary>Waiting to busy, by whoever brings it work: false when it is not waiting (claimed, or a thread has it).
    /// </summary>
    public bool Resume() =>
        Step("resume", ref state, static (ref shared) => Interlocked.CompareExchange(ref shared, Busy, Waiting))
            == Waiting;

    private bool TakeArrival() =>
        Step("take the arrival", ref arrived, static (ref shared) => Interlocked.Exchange(ref shared, 0)) == 1;

    private delegate TResult Access<TField, TResult>(ref TField field);

    /// <summary>
    /// One access to a field the threads share, after its step point: written as one call, so that moving an access
    /// moves its point with it, and the scheduler can put another thread before any of them.
    /// </summary>
    private TResult Step<TField, TResult>(string point, ref TField field, Access<TField, TResult> access)
    {
        steps?.Reach(point);
        return access(ref field);
    }
}
