using ModelZoo.Core.Datasets;
using ModelZoo.Core.Runs;
using ModelZoo.Core.Tests.Strategies;

namespace ModelZoo.Core.Tests.Datasets;

public class AugmentationProfileTests
{
    public static TheoryData<string, AugmentationProfile> Named => new()
    {
        { "Digits", AugmentationProfile.Digits }, { "Glyphs", AugmentationProfile.Glyphs }, { "Garments", AugmentationProfile.Garments },
        { "Photos", AugmentationProfile.Photos }, { "Unknown", AugmentationProfile.Unknown },
    };

    [Theory, MemberData(nameof(Named))]
    public void Validate_AcceptsEveryProfileTheProductShips(string name, AugmentationProfile profile) =>
        profile.Validate().ShouldBeEmpty(name);

    [Fact]
    public void Validate_AcceptsTheLimitsThemselves()
    {
        new AugmentationProfile(true, 1, 180, 1).Validate().ShouldBeEmpty("a full-size crop, half a turn and ±100 % jitter are the largest allowed");
        new AugmentationProfile(false, 1e-6, 0, 0).Validate().ShouldBeEmpty("0 turns rotation and jitter off");
    }

    [Theory]
    [InlineData(0, 0, 0, "MinCropScale")]
    [InlineData(-0.5, 0, 0, "MinCropScale")]
    [InlineData(1.01, 0, 0, "MinCropScale")]
    [InlineData(double.NaN, 0, 0, "MinCropScale")]
    [InlineData(0.5, -1, 0, "MaxRotationDegrees")]
    [InlineData(0.5, 180.5, 0, "MaxRotationDegrees")]
    [InlineData(0.5, double.PositiveInfinity, 0, "MaxRotationDegrees")]
    [InlineData(0.5, double.NaN, 0, "MaxRotationDegrees")]
    [InlineData(0.5, 0, -0.1, "ColorJitter")]
    [InlineData(0.5, 0, 1.1, "ColorJitter")]
    [InlineData(0.5, 0, double.NaN, "ColorJitter")]
    public void Validate_NamesTheFieldOutsideItsLimits(double crop, double rotation, double jitter, string field) =>
        new AugmentationProfile(false, crop, rotation, jitter).Validate().Keys.ShouldBe([field]);

    [Fact]
    public void Validate_ExplainsEveryBadFieldAtOnce_InWordsThatGiveTheLimits()
    {
        var errors = new AugmentationProfile(true, 0, 200, 2).Validate();
        errors["MinCropScale"].ShouldBe("The smallest crop must be above 0 and at most 1 of the image's area.");
        errors["MaxRotationDegrees"].ShouldBe("Rotation must be between 0 and 180 degrees.");
        errors["ColorJitter"].ShouldBe("Colour jitter must be between 0 and 1.");
    }

    /// <summary>A run's override is refused in the same words as the dataset page, under the run's field names.</summary>
    [Fact]
    public void TheRunValidator_UsesTheProfilesOwnRules()
    {
        var bad = new AugmentationProfile(true, 1.5, 0, 2);
        var errors = RunRequestValidator.Validate(
            new RunRequest { ModelId = "resnet18", DatasetId = "d", HyperParameters = new HyperParameters { Augmentation = bad } },
            TestStrategies.Catalog, _ => TestStrategies.ResNet,
            id => new DatasetInfo { Id = id, ClassNames = ["a", "b"], ClassCounts = [5, 5] }).Errors;
        errors.OrderBy(e => e.Key).ShouldBe(bad.Validate().Select(e => KeyValuePair.Create($"HyperParameters.Augmentation.{e.Key}", e.Value)).OrderBy(e => e.Key));
    }

    [Fact]
    public void For_ReturnsTheProfileTheFactsRecord_WhateverTheOrigin()
    {
        var custom = new AugmentationProfile(true, 0.5, 15, 0.3);
        AugmentationProfile.For(new DatasetInfo { Origin = DatasetOrigin.Upload, Augmentation = custom }).ShouldBe(custom);
        AugmentationProfile.For(new DatasetInfo { Origin = DatasetOrigin.Upload, Augmentation = AugmentationProfile.Unknown }).ShouldBe(AugmentationProfile.Unknown);
        AugmentationProfile.For(new DatasetInfo { Origin = DatasetOrigin.BuiltIn, Augmentation = AugmentationProfile.Garments }).ShouldBe(AugmentationProfile.Garments);
    }

    /// <summary>Facts stored before the field existed keep training as they always did: uploads as photos (flips,
    /// crops to 35 %), built-ins as digits (no flips), which all built-ins of that time were.</summary>
    [Fact]
    public void For_FactsWithoutAProfile_KeepWhatTheyTrainedWithBefore()
    {
        AugmentationProfile.For(new DatasetInfo { Origin = DatasetOrigin.Upload }).ShouldBe(AugmentationProfile.Photos);
        AugmentationProfile.For(new DatasetInfo { Origin = DatasetOrigin.BuiltIn }).ShouldBe(AugmentationProfile.Digits);
    }

    [Fact]
    public void ANewUpload_FlipsOnlyWhenItsClassesAreMirrorInvariant_AndIsOtherwiseTheSafeDefault()
    {
        AugmentationProfile.ForNewUpload(mirrorInvariant: false).ShouldBe(AugmentationProfile.Unknown);
        AugmentationProfile.ForNewUpload(mirrorInvariant: true).ShouldBe(AugmentationProfile.Unknown with { HorizontalFlip = true });
    }

    /// <summary>The safe default changes no label of a usual class: what cost the 20x20 digits 5 points is gone.</summary>
    [Fact]
    public void TheSafeDefault_NeverFlipsOrRotates_AndCropsLessThanThePhotoProfile()
    {
        var u = AugmentationProfile.Unknown;
        u.HorizontalFlip.ShouldBeFalse();
        u.MaxRotationDegrees.ShouldBe(0);
        u.MinCropScale.ShouldBeGreaterThanOrEqualTo(0.8);
        u.MinCropScale.ShouldBeGreaterThan(AugmentationProfile.Digits.MinCropScale, "an upload may fill its frame, unlike MNIST's 20x20 in 28x28");
        u.ColorJitter.ShouldBeInRange(0.01, AugmentationProfile.Photos.ColorJitter - 0.01);
    }
}
