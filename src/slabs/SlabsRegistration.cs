// src/slabs/SlabsRegistration.cs: how the slabs join the server when this folder is part of the program: every
// store's table is a SlabTable, from the first. Without this folder the store keeps the core's PlainTable: the same
// behaviour, in more memory for small pairs.

using System.Runtime.CompilerServices;

namespace KV;

internal static class SlabsRegistration
{
    [ModuleInitializer]
    internal static void Register() => PairTable.New = static () => new SlabTable();
}
