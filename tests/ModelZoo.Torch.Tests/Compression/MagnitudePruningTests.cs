using ModelZoo.Core.Runs;
using ModelZoo.Torch.Compression;
using static TorchSharp.torch;

namespace ModelZoo.Torch.Tests.Compression;

/// <summary>Magnitude pruning: exact counts globally and per layer, what each prunes, masks kept, bad sparsity refused.</summary>
public sealed class MagnitudePruningTests
{
    /// <summary>Layer "a" holds small weights, layer "b" large ones (10x), so a global threshold prunes "a" first.</summary>
    static List<(string Key, Tensor Weight)> Layers()
    {
        var g = new Generator(3);
        return [("a.weight", randn([16, 3, 3, 3], generator: g) * 0.1), ("b.weight", randn([10, 37], generator: g))];
    }

    static long Zeros(Tensor mask) => mask.eq(0).sum().item<long>();

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.5)]
    [InlineData(0.8)]
    [InlineData(0.9)]
    [InlineData(0.99)]
    public void PerLayer_PrunesExactlyTheFraction_OfEachLayer(double sparsity)
    {
        var layers = Layers();
        using var masks = PruningMasks.Compute(layers, sparsity, PruningScope.Layer);
        foreach (var (key, w) in layers)
        {
            Zeros(masks.Masks[key]).ShouldBe((long)Math.Floor(sparsity * w.numel()), key);
            KeptAreLargest(w, masks.Masks[key]);
        }
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.8)]
    [InlineData(0.9)]
    public void Global_PrunesExactlyTheFraction_OfAllWeights_AndTheSmallLayerMost(double sparsity)
    {
        var layers = Layers();
        using var masks = PruningMasks.Compute(layers, sparsity, PruningScope.Global);
        long total = layers.Sum(l => l.Weight.numel());
        layers.Sum(l => Zeros(masks.Masks[l.Key])).ShouldBe((long)Math.Floor(sparsity * total));
        // One threshold: every kept weight anywhere is at least as large as every pruned weight anywhere.
        using var all = cat(layers.Select(l => l.Weight.abs().flatten()).ToArray());
        using var mask = cat(layers.Select(l => masks.Masks[l.Key].flatten()).ToArray());
        KeptAreLargest(all, mask);
        var a = (double)Zeros(masks.Masks["a.weight"]) / layers[0].Weight.numel();
        var b = (double)Zeros(masks.Masks["b.weight"]) / layers[1].Weight.numel();
        a.ShouldBeGreaterThan(b, "the layer of small weights loses more under a global threshold");
    }

    static void KeptAreLargest(Tensor w, Tensor mask)
    {
        using var abs = w.abs().flatten();
        using var m = mask.flatten();
        if (Zeros(m) == 0 || Zeros(m) == m.numel()) return;
        abs.masked_select(m.eq(0)).max().item<float>().ShouldBeLessThanOrEqualTo(abs.masked_select(m.ne(0)).min().item<float>());
    }

    [Fact]
    public void EqualWeights_StillGiveTheExactCount()
    {
        using var w = zeros(10, 30);
        using var masks = PruningMasks.Compute([("z.weight", w)], 0.5, PruningScope.Layer);
        Zeros(masks.Masks["z.weight"]).ShouldBe(150);
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(0.995)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void ASparsityOutside0To099_IsRefused_NamingTheOption(double sparsity)
    {
        Should.Throw<ArgumentOutOfRangeException>(() => PruningMasks.Compute(Layers(), sparsity, PruningScope.Global)).Message.ShouldContain("sparsity must be between 0 and 0.99");
        var errors = CompressionMethods.Validate(new CompressionRequest { Method = "prune", Sparsity = sparsity });
        errors.Keys.ShouldBe(["sparsity"]);
        errors["sparsity"].ShouldContain("sparsity must be between 0 and 0.99");
    }

    [Fact]
    public void Validate_NamesEachBadOption()
    {
        CompressionMethods.Validate(new CompressionRequest { Method = "zip" }).Keys.ShouldBe(["method"]);
        CompressionMethods.Validate(new CompressionRequest { Method = "prune" }).Keys.ShouldBe(["sparsity"], "prune needs a sparsity");
        CompressionMethods.Validate(new CompressionRequest { Method = "prune", Sparsity = 0.5, Scope = "row", FineTuneEpochs = 21 }).Keys.Order()
            .ShouldBe(["fineTuneEpochs", "scope"]);
        CompressionMethods.Validate(new CompressionRequest { Method = "int8", Sparsity = 0.5 }).Keys.ShouldBe(["sparsity"]);
        CompressionMethods.Validate(new CompressionRequest { Method = "prune", Sparsity = 0.99, Scope = "layer", FineTuneEpochs = 0 }).ShouldBeEmpty();
    }

    [Fact]
    public void Apply_ZeroesThePrunedWeightsOfAModel_AndMeasureCountsThem()
    {
        var g = new Generator(5);
        using var model = nn.Sequential(("0", nn.Conv2d(3, 8, 3)), ("1", nn.ReLU()), ("2", nn.Flatten()), ("3", nn.Linear(8 * 4 * 4, 5)));
        var weights = PruningMasks.PrunableWeights(model);
        weights.Select(w => w.Key).ShouldBe(["0.weight", "3.weight"], "conv and linear weights only; no biases");
        using var masks = PruningMasks.Compute(model, 0.8, PruningScope.Layer);
        masks.Apply(model);
        var report = PruningMasks.Measure(model);
        foreach (var r in report) r.Zeros.ShouldBe((long)Math.Floor(0.8 * r.Parameters), r.Key);

        // A gradient step without the mask would move the pruned weights; with MaskGradients and Apply they stay zero.
        using var opt = optim.SGD(model.parameters(), 0.1);
        using var x = randn([4, 3, 6, 6], generator: g);
        using var loss = model.call(x).pow(2).sum();
        loss.backward();
        masks.MaskGradients(model);
        foreach (var (key, w) in PruningMasks.PrunableWeights(model))
            w.grad!.masked_select(masks.Masks[key].eq(0)).abs().sum().item<float>().ShouldBe(0f, key);
        opt.step();
        masks.Apply(model);
        foreach (var r in PruningMasks.Measure(model)) r.Zeros.ShouldBeGreaterThanOrEqualTo((long)Math.Floor(0.8 * r.Parameters), r.Key);
    }
}
