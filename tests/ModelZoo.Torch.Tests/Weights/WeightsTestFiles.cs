using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Weights;

/// <summary>Paths of the committed test data, and a temporary folder per test class that removes itself.</summary>
public sealed class TempFolder : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("modelzoo-weights-").FullName;

    public string PathOf(string name) => Path.Combine(Dir, name);

    public void Dispose()
    {
        try { Directory.Delete(Dir, recursive: true); } catch (IOException) { }
    }

    public static string TestData(string file) =>
        Path.Combine(TestFixtures.RepoRoot, "tests", "ModelZoo.Torch.Tests", "Weights", "TestData", file);
}

internal static class StateDicts
{
    /// <summary>Deep copies, so a test can compare a model's state before and after an operation.</summary>
    public static Dictionary<string, Tensor> Snapshot(nn.Module m)
    {
        using var _ = no_grad();
        return m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
    }

    public static void ShouldEqual(IReadOnlyDictionary<string, Tensor> actual, IReadOnlyDictionary<string, Tensor> expected)
    {
        actual.Keys.ShouldBe(expected.Keys, ignoreOrder: false);
        foreach (var (k, e) in expected)
        {
            var a = actual[k];
            a.dtype.ShouldBe(e.dtype, k);
            a.shape.ShouldBe(e.shape, k);
            StateDicts.Same(a, e).ShouldBeTrue($"{k} differs");
        }
    }

    /// <summary>Same dtype, shape and every element.</summary>
    public static bool Same(Tensor a, Tensor b)
    {
        if (a.dtype != b.dtype || !a.shape.SequenceEqual(b.shape)) return false;
        using var differs = a.ne(b);
        using var any = differs.any();
        return !any.item<bool>();
    }

    public static void Dispose(IEnumerable<Tensor> tensors)
    {
        foreach (var t in tensors) t.Dispose();
    }
}
