using ModelZoo.Core.Datasets;
using ModelZoo.Torch.Pipeline;
using static ModelZoo.Torch.Tests.Pipeline.PipelineFixtures;

namespace ModelZoo.Torch.Tests.Pipeline;

public class AugmentationTests
{
    static ImagePipeline Pipeline(TempDataset data, DatasetInfo info, int channels = 1) =>
        ImagePipeline.Create(InMemory(Noise(40, channels, 28, 3), 40, channels, 28), info, ImageNet, 32, TorchSharp.torch.CPU, Options(data.CacheDir));

    static float[][] Epoch(ImagePipeline p, int seed, int epoch)
    {
        var order = Enumerable.Range(0, 40).Reverse().ToArray();
        using var batches = p.Train(order, batchSize: 16, epoch, seed, augment: true, CancellationToken.None);
        return Enumerable.Range(0, batches.Count).Select(_ => { using var b = batches.Next(); return Values(b.X); }).ToArray();
    }

    [Fact]
    public void SameSeedAndEpoch_GiveTheSameBatches_OtherEpochsOrSeedsDoNot()
    {
        using var data = new TempDataset();
        using var p = Pipeline(data, new DatasetInfo { Id = "aug", Augmentation = AugmentationProfile.Photos }, channels: 3);
        var a = Epoch(p, seed: 7, epoch: 1);
        var b = Epoch(p, seed: 7, epoch: 1);
        a.Length.ShouldBe(3);
        for (int i = 0; i < a.Length; i++) a[i].ShouldBe(b[i], $"batch {i}, built on worker threads in any order");
        Epoch(p, 7, 2)[0].ShouldNotBe(a[0]);
        Epoch(p, 8, 1)[0].ShouldNotBe(a[0]);
    }

    [Fact]
    public void Augmented_DiffersFromEval_ButHasTheSameShape()
    {
        using var data = new TempDataset();
        using var p = Pipeline(data, new DatasetInfo { Id = "aug", Augmentation = AugmentationProfile.Digits });
        using var eval = p.Batch([0, 1, 2], rng: null);
        using var aug = p.Batch([0, 1, 2], new Random(1));
        aug.X.shape.ShouldBe(eval.X.shape);
        Values(aug.X).ShouldNotBe(Values(eval.X));
    }

    [Fact]
    public void DigitsAndGlyphs_NeverFlip_UploadsAndGarmentsDo()
    {
        int Flips(AugmentationProfile profile) =>
            Augmentation.Draw(profile, 2000, 73, 73, 1, new Random(5)).Count(p => p.Flip);
        Flips(AugmentationProfile.Digits).ShouldBe(0);
        Flips(AugmentationProfile.Glyphs).ShouldBe(0);
        Flips(AugmentationProfile.Photos).ShouldBeInRange(900, 1100, "half of them");
        Flips(AugmentationProfile.Garments).ShouldBeInRange(900, 1100);
    }

    [Fact]
    public void Crops_StayInsideTheImage_AndAboveTheProfilesMinimumArea()
    {
        foreach (var p in Augmentation.Draw(AugmentationProfile.Digits, 2000, 31, 31, 1, new Random(2)))
        {
            (p.Top >= 0 && p.Left >= 0 && p.Top + p.CropHeight <= 31 && p.Left + p.CropWidth <= 31).ShouldBeTrue(p.ToString());
            // Rounding the sides to whole pixels may shave a little off the drawn area.
            (p.CropHeight * p.CropWidth / (31.0 * 31)).ShouldBeGreaterThan(0.6, p.ToString());
            Math.Abs(p.AngleDegrees).ShouldBeLessThanOrEqualTo(10);
        }
    }

    /// <summary>The sampling matrix is exact for the simplest cases: the whole image, unrotated, reproduces it pixel
    /// for pixel (align_corners false samples pixel centres), and the flip mirrors it.</summary>
    [Fact]
    public void WholeImageCrop_IsTheIdentity_AndFlipMirrors()
    {
        using var data = new TempDataset();
        var pixels = Noise(1, 1, 8, 9);
        var pre = ImageNet with { ResizeSize = null };
        using var p = ImagePipeline.Create(InMemory(pixels, 1, 1, 8), new DatasetInfo { Id = "id", Augmentation = AugmentationProfile.Photos with { ColorJitter = 0 } },
            pre, 8, TorchSharp.torch.CPU, Options(data.CacheDir));
        using var eval = p.Batch([0], rng: null);
        var identity = new AugmentParams(0, 0, 8, 8, Flip: false, 0, 1, 1, 1);
        var mirror = identity with { Flip = true };
        using var x = TorchSharp.torch.tensor(pixels.Select(b => b / 255f).ToArray(), [1, 1, 8, 8]);
        using var theta = TorchSharp.torch.tensor(Augmentation.Theta(identity, 8, 8).Concat(Augmentation.Theta(mirror, 8, 8)).ToArray(), [2, 2, 3]);
        using var grid = TorchSharp.torch.nn.functional.affine_grid(theta, [2, 1, 8, 8], align_corners: false);
        using var both = TorchSharp.torch.nn.functional.grid_sample(x.expand(2, 1, 8, 8), grid, align_corners: false);
        var v = Values(both);
        var original = pixels.Select(b => b / 255f).ToArray();
        v.Take(64).ToArray().ShouldBe(original, 1e-5f);
        var mirrored = Enumerable.Range(0, 64).Select(i => original[i / 8 * 8 + 7 - i % 8]).ToArray();
        v.Skip(64).ToArray().ShouldBe(mirrored, 1e-5f);
        // The pipeline's eval batch of the same image is the same pixels, normalised.
        Values(eval.X).Take(64).ToArray().ShouldBe(original.Select(o => (o - 0.485f) / 0.229f).ToArray(), 1e-4f);
    }
}
