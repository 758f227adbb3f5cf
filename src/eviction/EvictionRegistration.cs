// src/eviction/EvictionRegistration.cs: how eviction joins the server when this folder is part of the program:
// --max-memory-policy onto the command line (each server's store takes it as it opens), CONFIG GET and SET
// maxmemory-policy into RESP's table, and the policy and the keys evicted into `stats` (and so INFO). The core names
// no feature; without this folder a write past --max-memory is refused, as under noeviction.

using System.Runtime.CompilerServices;

namespace KV;

internal static class EvictionRegistration
{
    public static readonly FeatureOption PolicyOption = new("--max-memory-policy", "noeviction",
        """
          --max-memory-policy POLICY
                               what goes past --max-memory: noeviction (a write is refused; the default), or
                               keys evicted as a cache does: allkeys-lru, allkeys-random (any key),
                               volatile-lru, volatile-random, volatile-ttl (only keys with a deadline)
        """,
        value => EvictionPolicies.Find(value) is null ? EvictionPolicies.Unknown(value) : null);

    [ModuleInitializer]
    internal static void Register()
    {
        FeatureOptions.Register(PolicyOption);
        KVServer.StoreOpening += static (store, options) =>
            store.Policy = EvictionPolicies.Find(options.Feature(PolicyOption))!.Value;
        RespConfig.Register(new("maxmemory-policy", session => EvictionPolicies.NameOf(session.Store.Policy),
            (session, value) =>
            {
                if (EvictionPolicies.Find(value) is not { } policy) return EvictionPolicies.Unknown(value);
                session.Store.Policy = policy;
                return null;
            }));
        ServerStats.Register(static (_, store) =>
            [new("max_memory_policy", EvictionPolicies.NameOf(store.Policy)), new("evicted_keys", store.Evicted)],
            after: "max_memory");
    }
}
