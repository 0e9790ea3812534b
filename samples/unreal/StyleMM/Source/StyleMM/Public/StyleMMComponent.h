// A StyleMM face as a procedural mesh: loads a bundle (.smm), makes the character of a seed,
// and every tick poses it from ARKit curve values and joint rotations.
//
// It derives from UProceduralMeshComponent rather than owning one from a UActorComponent: the
// face is then one scene component, placed, attached (e.g. to a head socket), transformed and
// given its material like any mesh, with nothing to keep in sync and no second component to
// create at run time. The price: the procedural mesh's own Blueprint functions (CreateMeshSection
// and the like) are visible on it too; calling them would fight with this component's updates.
#pragma once

#include "CoreMinimal.h"
#include "Engine/EngineTypes.h"
#include "ProceduralMeshComponent.h"
#include "Templates/SharedPointer.h"

#include "StyleMMComponent.generated.h"

class UMaterialInterface;

// The engine-free core (Private/StyleMMRig.h). A shared pointer, so that this header needs only
// the declaration: its deleter is made where the type is complete.
namespace StyleMM
{
class Rig;
}

UCLASS(ClassGroup = (Rendering), meta = (BlueprintSpawnableComponent), hidecategories = (Object, LOD))
class STYLEMM_API UStyleMMComponent : public UProceduralMeshComponent
{
	GENERATED_BODY()

public:
	UStyleMMComponent(const FObjectInitializer& ObjectInitializer);

	// The bundle: a .smm file (or a bundle directory, for development). A relative path is looked
	// up under the project directory ("Content/StyleMM/cartoon.smm"), then under Content/
	// ("StyleMM/cartoon.smm"). Packaged games read it through Unreal's file system, so it may sit
	// in a .pak: add its folder to "Additional Non-Asset Directories to Package".
	UPROPERTY(EditAnywhere, BlueprintReadOnly, Category = "StyleMM", meta = (FilePathFilter = "smm", RelativeToGameDir))
	FFilePath BundlePath;

	// The character: its identity is drawn from this seed (StyleMM::SampleShape, smm_sample_normal),
	// the same face as stylemm_runtime's character(seed=Seed) and the Unity sample's. Changing it at
	// run time re-bakes the character on the next tick, on the game thread: about half a second
	// for an OpenHead bundle (measured on one core), so a hitch; do it behind a loading screen.
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "StyleMM", meta = (ClampMin = "0"))
	int32 Seed = 0;

	// Applied to the face's section. The native core makes no textures: bake one with
	// stylemm_runtime (character.texture()) and import it; UVs are the bundle's, top-left origin.
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "StyleMM")
	TObjectPtr<UMaterialInterface> FaceMaterial;

	// Expression weights by ARKit name, usually copied from a LiveLink subject each tick
	// ("JawOpen", "EyeBlinkLeft", ...; matched to the bundle's names ignoring case). Curves the
	// bundle does not know (Live Link Face's "HeadYaw", ...) are ignored; absent ones count as 0.
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "StyleMM|Animation")
	TMap<FName, float> Curves;

	// Joint rotations in the component's axes (the face looks along +X): yaw turns, pitch nods,
	// roll tilts. Each is local to its parent joint, as the bundle's pose is.
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "StyleMM|Animation")
	FRotator HeadRotation = FRotator::ZeroRotator;
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "StyleMM|Animation")
	FRotator NeckRotation = FRotator::ZeroRotator;
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "StyleMM|Animation")
	FRotator JawRotation = FRotator::ZeroRotator;
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "StyleMM|Animation")
	FRotator LeftEyeRotation = FRotator::ZeroRotator;
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "StyleMM|Animation")
	FRotator RightEyeRotation = FRotator::ZeroRotator;

	// The bundle's joints that the rotations above drive (OpenHead and FLAME name them so:
	// "global" bends the neck at its base, "neck" turns the head on it). A name the bundle
	// lacks leaves that rotation unused.
	UPROPERTY(EditAnywhere, BlueprintReadOnly, AdvancedDisplay, Category = "StyleMM|Animation")
	FName HeadJoint = TEXT("neck");
	UPROPERTY(EditAnywhere, BlueprintReadOnly, AdvancedDisplay, Category = "StyleMM|Animation")
	FName NeckJoint = TEXT("global");
	UPROPERTY(EditAnywhere, BlueprintReadOnly, AdvancedDisplay, Category = "StyleMM|Animation")
	FName JawJoint = TEXT("jaw");
	UPROPERTY(EditAnywhere, BlueprintReadOnly, AdvancedDisplay, Category = "StyleMM|Animation")
	FName LeftEyeJoint = TEXT("left_eye");
	UPROPERTY(EditAnywhere, BlueprintReadOnly, AdvancedDisplay, Category = "StyleMM|Animation")
	FName RightEyeJoint = TEXT("right_eye");

	// (Re)load the bundle, bake the character of Seed and (re)create the mesh. BeginPlay calls it;
	// call it again after changing BundlePath. False on failure (see GetLastError and the log).
	UFUNCTION(BlueprintCallable, Category = "StyleMM")
	bool Rebuild();

	UFUNCTION(BlueprintCallable, Category = "StyleMM|Animation")
	void SetCurve(FName Curve, float Value);

	// Sets every curve to 0 (the neutral face), keeping the map's entries.
	UFUNCTION(BlueprintCallable, Category = "StyleMM|Animation")
	void ResetCurves();

	UFUNCTION(BlueprintPure, Category = "StyleMM")
	bool IsReady() const;

	UFUNCTION(BlueprintPure, Category = "StyleMM")
	FString GetLastError() const { return LastError; }

	// The bundle's expression names (ARKit names for OpenHead bundles); empty before Rebuild.
	UFUNCTION(BlueprintPure, Category = "StyleMM")
	TArray<FName> GetExpressionNames() const;

	virtual void TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction) override;

protected:
	virtual void BeginPlay() override;
	virtual void EndPlay(const EEndPlayReason::Type EndPlayReason) override;

private:
	bool Fail(const FString& Message);
	bool ResolveBundlePath(FString& OutPath) const;
	bool MakeCharacter();
	int32 ExpressionIndex(FName Curve);
	void SetJointRotation(int32 Joint, const FRotator& Rotation);
	bool EvaluateFrame();

	TSharedPtr<StyleMM::Rig> Rig;
	FString LastError;
	int32 BuiltSeed = 0;
	bool bFrameErrorLogged = false;

	// Sized once in Rebuild, reused every frame: the tick allocates nothing of its own.
	TMap<FName, int32> CurveIndices;  // curve -> expression index or INDEX_NONE, filled on first sight
	TArray<float> Weights;            // (E)
	TArray<float> Pose;               // (J, 3) axis-angles, glTF axes
	TArray<float> RenderPositions;    // (R, 3) glTF axes, metres
	TArray<float> RenderNormals;      // (R, 3)
	TArray<FVector> Vertices;         // (R) Unreal axes, centimetres
	TArray<FVector> Normals;          // (R)
	int32 HeadJointIndex = INDEX_NONE;
	int32 NeckJointIndex = INDEX_NONE;
	int32 JawJointIndex = INDEX_NONE;
	int32 LeftEyeJointIndex = INDEX_NONE;
	int32 RightEyeJointIndex = INDEX_NONE;
};
