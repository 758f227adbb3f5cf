// tests/InterleavingTests.cs: the handshake where a conversation's threads meet (src/server/ConversationClaim.cs),
// run in every order of its steps by the scheduler of tests/Harness.Interleavings.cs. Under load, tests meet only
// the orders the machine happens to produce; here each order is produced once, and one that loses a client or
// serves it twice is printed step by step.

using System.Buffers;
using KV;
using Xunit;

[Collection(nameof(CpuBound))]
public class InterleavingTests
{
    /// <summary>
    /// The conversation gives itself up to wait while another thread interrupts it: exactly one of them goes on with
    /// it, its own thread (which then sees the interruption and ends) or the interrupter (which claimed it, and ends
    /// it). None would leave a client waiting forever with its server stopping; both would end it twice.
    /// </summary>
    [Fact]
    public void An_interrupt_and_a_conversation_going_to_wait_leave_it_to_exactly_one_of_them()
    {
        var orders = Interleavings.Explore(2, scheduler =>
        {
            var claim = new ConversationClaim(scheduler);
            var own = AfterRelease.Wait;
            var claimed = false;
            return ([
                () => own = claim.Release(arrivals: false),
                () => claimed = claim.Interrupt(new Interruption("stop", LastWord: false)) && claim.Claim(),
            ], () =>
            {
                Assert.Equal(1, (own == AfterRelease.GoOn ? 1 : 0) + (claimed ? 1 : 0));
                Assert.Equal(own == AfterRelease.Claimed, claimed && own != AfterRelease.Wait);
            });
        });
        Assert.True(orders >= 6, $"only {orders} orders were explored");
    }

    /// <summary>
    /// The loops model: bytes arrive while the conversation gives itself up. Exactly one thread serves them: the
    /// event loop (the conversation was waiting) or the conversation's own thread (it found the flag). None would
    /// leave a request unanswered until the client sends again; both would serve one client on two threads at once.
    /// </summary>
    [Fact]
    public void An_arrival_and_a_conversation_going_to_wait_are_served_by_exactly_one_thread()
    {
        var orders = Interleavings.Explore(2, scheduler =>
        {
            var claim = new ConversationClaim(scheduler);
            var own = AfterRelease.Wait;
            var loop = false;
            return ([() => own = claim.Release(arrivals: true), () => loop = claim.Arrived()],
                () => Assert.Equal(1, (own == AfterRelease.GoOn ? 1 : 0) + (loop ? 1 : 0)));
        });
        Assert.True(orders >= 6, $"only {orders} orders were explored");
    }

    /// <summary>All three at once: the conversation giving itself up, bytes arriving, and an interruption.</summary>
    [Fact]
    public void An_arrival_an_interrupt_and_a_conversation_going_to_wait_leave_it_to_exactly_one_thread()
    {
        var orders = Interleavings.Explore(3, scheduler =>
        {
            var claim = new ConversationClaim(scheduler);
            var own = AfterRelease.Wait;
            var (loop, claimed) = (false, false);
            return ([
                () => own = claim.Release(arrivals: true),
                () => loop = claim.Arrived(),
                () => claimed = claim.Interrupt(new Interruption("stop", LastWord: false)) && claim.Claim(),
            ], () =>
            {
                Assert.Equal(1, (own == AfterRelease.GoOn ? 1 : 0) + (loop ? 1 : 0) + (claimed ? 1 : 0));
                Assert.NotNull(claim.Interruption);
            });
        });
        Assert.True(orders >= 30, $"only {orders} orders were explored");
    }

    /// <summary>
    /// A subscriber's queue: a publisher posts a message while the client's own thread writes what is queued, or while
    /// the connection ends. In every order the message is written at most once, and every byte the post reserved
    /// from the clients' budget is given back: a leak here would shrink every client's budget for good.
    /// </summary>
    [Theory]
    [InlineData("the writer")]
    [InlineData("the end")]
    public void A_post_racing_the_writer_or_the_end_gives_every_reserved_byte_back(string other)
    {
        var orders = Interleavings.Explore(2, scheduler =>
        {
            var client = new ReservingClient();
            var written = new List<string>();
            var queue = new PushQueue<string>(m => m.Length, (_, m) => written.Add(m), _ => "behind", () => { },
                scheduler);
            queue.Open(client);
            Action racing = other == "the end" ? queue.Close : () => queue.WriteQueued(new ArrayBufferWriter<byte>());
            return ([() => queue.Post("message"), racing], () =>
            {
                // The end comes once, and nothing drains the queue after it: only after the writer does it still come.
                if (other == "the writer") queue.Close();
                Assert.True(written.Count <= 1, $"written {written.Count} times");
                Assert.Equal(0, queue.Unsent);
                Assert.Equal(0, client.Reserved);
            });
        });
        Assert.True(orders >= 20, $"only {orders} orders were explored");
    }

    /// <summary>
    /// The clients' memory budget: a client grows and shrinks its buffers, another's read passes the budget and the
    /// largest is evicted, while the first client leaves. In every order the budget's total is what the accounts
    /// hold, an evicted or closed account holds nothing (its bytes would never come back), and no client is told
    /// twice that it was evicted.
    /// </summary>
    [Fact]
    public void Accounts_racing_an_eviction_and_a_close_keep_the_budget_exact()
    {
        var orders = Interleavings.Explore(3, scheduler =>
        {
            var budget = new ClientMemoryBudget(limit: 100, scheduler);
            var (first, second) = (new EvictedOwner(), new EvictedOwner());
            var a = first.Account = budget.Open(first);
            var b = second.Account = budget.Open(second);
            return ([
                () =>
                {
                    a.Hold(60);
                    a.Hold(10);
                },
                () => b.Hold(60),
                a.Dispose,
            ], () =>
            {
                Assert.Equal(a.Held + b.Held, budget.Total);
                foreach (var owner in new[] { first, second })
                {
                    Assert.InRange(owner.Told, 0, 1);
                    if (owner.Told == 1 || owner == first) Assert.Equal(0, owner.Account!.Held);
                }
            });
        });
        Assert.True(orders >= 20, $"only {orders} orders were explored");
    }

    /// <summary>A client as the budget sees it: told once when it is evicted, and then its connection ends.</summary>
    private sealed class EvictedOwner : IEvictable
    {
        public ClientMemoryAccount? Account;
        public int Told;

        public void Evict(string reason)
        {
            Told++;
            Account!.Dispose();
        }
    }

    /// <summary>A connection as PushQueue sees it: only its reservations matter here.</summary>
    private sealed class ReservingClient : IReplyContext
    {
        private long reserved;
        public long Reserved => Interlocked.Read(ref reserved);
        public bool TryReserve(long bytes, bool makeRoom = false)
        {
            Interlocked.Add(ref reserved, bytes);
            return true;
        }
        public void Unreserve(long bytes) => Interlocked.Add(ref reserved, -bytes);
        public IBufferWriter<byte> Output { get; } = new ArrayBufferWriter<byte>();
        public CancellationToken Cancellation => CancellationToken.None;
        public long ClientMemoryLimit => 0;
        public ValueTask FlushAsync() => ValueTask.CompletedTask;
        public void WriteError(string message) { }
        public Task ClientSpeaksAsync() => Task.CompletedTask;
        public void Evict(string reason) => throw new InvalidOperationException("nothing here passes the budget");
    }

    /// <summary>
    /// The scheduler itself. Two threads that each reach two points run in three stretches each (to the first point,
    /// to the second, to the end): twenty orders of stretches, which put their four writes in all six orders.
    /// </summary>
    [Fact]
    public void The_scheduler_runs_every_order_of_the_steps()
    {
        var seen = new HashSet<string>();
        var orders = Interleavings.Explore(2, scheduler =>
        {
            var order = new List<string>();
            void Steps(string name)
            {
                scheduler.Reach(name + " before 1");
                order.Add(name + "1");
                scheduler.Reach(name + " before 2");
                order.Add(name + "2");
            }
            return ([() => Steps("a"), () => Steps("b")], () => seen.Add(string.Join(" ", order)));
        });
        Assert.Equal(20, orders);
        Assert.Equal(6, seen.Count);
    }
}
