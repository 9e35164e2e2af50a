using ModelZoo.Torch.Native;

namespace ModelZoo.Torch.Tests.Native;

public class LibTorchSharpPatchTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("mz-patch-").FullName;

    /// <summary>The pristine library from the NuGet cache (never modified), copied to a temp folder.</summary>
    string FreshCopy()
    {
        var nuget = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
                    ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        var src = Directory.GetFiles(Path.Combine(nuget, "torchsharp"), "libLibTorchSharp.so", SearchOption.AllDirectories)
            .First(p => p.Contains("linux-x64"));
        var dst = Path.Combine(_dir, "libLibTorchSharp.so");
        File.Copy(src, dst, overwrite: true);
        return dst;
    }

    [Fact]
    public void SetWeak_MarksTheMarkerVersionWeak_AndIsIdempotent()
    {
        var lib = FreshCopy();
        var before = File.ReadAllBytes(lib);
        (LibTorchSharpPatch.ReadVersionFlags(lib)!.Value & 2).ShouldBe(0, "the NuGet copy requires the version strictly");

        LibTorchSharpPatch.SetWeak(lib, LibTorchSharpPatch.MarkerVersion).ShouldBe(PatchOutcome.Patched);
        (LibTorchSharpPatch.ReadVersionFlags(lib)!.Value & 2).ShouldBe(2);
        var after = File.ReadAllBytes(lib);
        after.Length.ShouldBe(before.Length);
        before.Zip(after).Count(p => p.First != p.Second).ShouldBe(1, "exactly one byte (the flags) changes");

        LibTorchSharpPatch.SetWeak(lib, LibTorchSharpPatch.MarkerVersion).ShouldBe(PatchOutcome.AlreadyPatched);
        File.ReadAllBytes(lib).ShouldBe(after);
    }

    [Fact]
    public void PatchIfNeeded_DoesNothing_WhenSystemLibStdCxxIsNewEnough()
    {
        var lib = FreshCopy();
        var before = File.ReadAllBytes(lib);
        LibTorchSharpPatch.PatchIfNeeded(lib, systemHasVersion: true).ShouldBe(PatchOutcome.NotNeeded);
        File.ReadAllBytes(lib).ShouldBe(before);
    }

    [Fact]
    public void SetWeak_ReportsNotElf_ForOtherFiles()
    {
        var f = Path.Combine(_dir, "not.so");
        File.WriteAllText(f, "hello");
        LibTorchSharpPatch.SetWeak(f, LibTorchSharpPatch.MarkerVersion).ShouldBe(PatchOutcome.NotElf);
    }

    [Fact]
    public void SystemCheck_FindsTheVersionOnlyWhenPresent()
    {
        var fake = Path.Combine(_dir, "libstdc++.so.6");
        File.WriteAllBytes(fake, [.. "xxGLIBCXX_3.4.30\0GLIBCXX_3.4.32\0"u8]);
        LibTorchSharpPatch.SystemLibStdCxxHas("GLIBCXX_3.4.32", [fake]).ShouldBeTrue();
        LibTorchSharpPatch.SystemLibStdCxxHas("GLIBCXX_3.4.33", [fake]).ShouldBeFalse();
    }

    [Fact]
    public void BuildOutput_LoadsTorchSharp()
    {
        // The build target patched this test's own output; creating a tensor proves the native library loads.
        using var t = TorchSharp.torch.ones(2, 2);
        t.sum().item<float>().ShouldBe(4f);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
