// src/threading/ThreadingRegistration.cs: puts this folder's models beside the core's pool, when the folder is part
// of the program: the core names no model but its own (src/server/ThreadingModel.cs).

using System.Runtime.CompilerServices;

namespace KV;

internal static class ThreadingRegistration
{
    [ModuleInitializer]
    internal static void Register()
    {
        ThreadingModels.Register(PerClientThreading.Model);
        ThreadingModels.Register(LoopThreading.Model);
    }
}
