#include "StyleMMComponent.h"

#include "Materials/MaterialInterface.h"
#include "Misc/FileHelper.h"
#include "Misc/Paths.h"

#include "StyleMMModule.h"
#include "StyleMMRig.h"

#include <string>
#include <string_view>

namespace StyleMMComponentDetail
{
FString ToFString(const std::string& Text)
{
	return FString(UTF8_TO_TCHAR(Text.c_str()));
}

int32 FindJoint(const StyleMM::Rig& Rig, FName Joint)
{
	if (Joint.IsNone())
	{
		return INDEX_NONE;
	}
	const FTCHARToUTF8 Name(*Joint.ToString());
	return Rig.FindJoint(std::string_view(Name.Get(), static_cast<size_t>(Name.Length())));
}
}  // namespace StyleMMComponentDetail

UStyleMMComponent::UStyleMMComponent(const FObjectInitializer& ObjectInitializer) : Super(ObjectInitializer)
{
	PrimaryComponentTick.bCanEverTick = true;
	PrimaryComponentTick.bStartWithTickEnabled = true;
}

void UStyleMMComponent::BeginPlay()
{
	Super::BeginPlay();
	// Tick after the owner, whose Blueprint Tick usually copies this frame's LiveLink curves in.
	if (AActor* Owner = GetOwner())
	{
		AddTickPrerequisiteActor(Owner);
	}
	Rebuild();
}

void UStyleMMComponent::EndPlay(const EEndPlayReason::Type EndPlayReason)
{
	Rig.Reset();  // character, evaluator and model, in that order (StyleMM::Rig's members)
	Super::EndPlay(EndPlayReason);
}

bool UStyleMMComponent::Fail(const FString& Message)
{
	LastError = Message;
	UE_LOG(LogStyleMM, Error, TEXT("%s: %s"), *GetPathName(), *Message);
	return false;
}

bool UStyleMMComponent::IsReady() const
{
	return Rig.IsValid() && Rig->HasCharacter();
}

bool UStyleMMComponent::ResolveBundlePath(FString& OutPath) const
{
	const FString& Given = BundlePath.FilePath;
	TArray<FString, TInlineAllocator<2>> Candidates;
	if (FPaths::IsRelative(Given))
	{
		Candidates.Add(FPaths::Combine(FPaths::ProjectDir(), Given));
		Candidates.Add(FPaths::Combine(FPaths::ProjectContentDir(), Given));
	}
	else
	{
		Candidates.Add(Given);
	}
	for (FString& Candidate : Candidates)
	{
		FPaths::NormalizeFilename(Candidate);
		FPaths::CollapseRelativeDirectories(Candidate);
		if (FPaths::FileExists(Candidate) || FPaths::DirectoryExists(Candidate))
		{
			OutPath = Candidate;
			return true;
		}
	}
	OutPath = FString::Join(Candidates, TEXT(" or "));
	return false;
}

bool UStyleMMComponent::Rebuild()
{
	ClearAllMeshSections();
	Rig.Reset();
	LastError.Empty();
	CurveIndices.Reset();
	bFrameErrorLogged = false;

	if (!FStyleMMModule::IsLibraryReady())
	{
		return Fail(FStyleMMModule::GetLibraryError());
	}
	if (BundlePath.FilePath.IsEmpty())
	{
		return Fail(TEXT("no BundlePath set"));
	}
	FString Path;
	if (!ResolveBundlePath(Path))
	{
		return Fail(FString::Printf(TEXT("no bundle at %s"), *Path));
	}

	TSharedPtr<StyleMM::Rig> NewRig = MakeShared<StyleMM::Rig>();
	StyleMM::Result Loaded;
	if (FPaths::DirectoryExists(Path))
	{
		// A bundle directory (development): the library reads it itself, so give it a full path.
		const FString FullPath = FPaths::ConvertRelativePathToFull(Path);
		Loaded = NewRig->Load(std::string(TCHAR_TO_UTF8(*FullPath)));
	}
	else
	{
		// A .smm file, read through Unreal's file system (which also sees inside .pak files).
		TArray<uint8> Bytes;
		if (!FFileHelper::LoadFileToArray(Bytes, *Path))
		{
			return Fail(FString::Printf(TEXT("cannot read %s"), *Path));
		}
		Loaded = NewRig->LoadFromMemory(Bytes.GetData(), Bytes.Num());
	}
	if (!Loaded.Ok())
	{
		return Fail(FString::Printf(TEXT("%s: %s"), *Path, *StyleMMComponentDetail::ToFString(Loaded.Message)));
	}
	Rig = NewRig;
	if (!MakeCharacter())
	{
		Rig.Reset();
		return false;
	}

	const StyleMM::Rig& R = *Rig;
	Weights.SetNumZeroed(R.Expressions());
	Pose.SetNumZeroed(3 * R.Joints());
	RenderPositions.SetNumZeroed(3 * R.RenderVertices());
	RenderNormals.SetNumZeroed(3 * R.RenderVertices());
	Vertices.SetNumZeroed(R.RenderVertices());
	Normals.SetNumZeroed(R.RenderVertices());
	HeadJointIndex = StyleMMComponentDetail::FindJoint(R, HeadJoint);
	NeckJointIndex = StyleMMComponentDetail::FindJoint(R, NeckJoint);
	JawJointIndex = StyleMMComponentDetail::FindJoint(R, JawJoint);
	LeftEyeJointIndex = StyleMMComponentDetail::FindJoint(R, LeftEyeJoint);
	RightEyeJointIndex = StyleMMComponentDetail::FindJoint(R, RightEyeJoint);

	// The topology, once. Triangles keep the bundle's corner order: the glTF -> Unreal map has
	// determinant -1 and Unreal, like glTF, draws a triangle counter-clockwise from its front
	// (StyleMMRig.h explains). UVs need no flip: both put the texture's origin at the top-left.
	const StyleMM::RenderLayout& Layout = R.Render();
	TArray<int32> Triangles;
	Triangles.Append(Layout.Triangles.data(), static_cast<int32>(Layout.Triangles.size()));
	TArray<FVector2D> UV0;
	UV0.SetNumUninitialized(Layout.Vertices);
	for (int32 I = 0; I < Layout.Vertices; ++I)
	{
		UV0[I] = FVector2D(Layout.Uvs[2 * I], Layout.Uvs[2 * I + 1]);
	}
	if (!EvaluateFrame())
	{
		Rig.Reset();
		return false;
	}
	CreateMeshSection(0, Vertices, Triangles, Normals, UV0, TArray<FColor>(), TArray<FProcMeshTangent>(), /*bCreateCollision=*/false);
	if (FaceMaterial != nullptr)
	{
		SetMaterial(0, FaceMaterial);
	}
	UE_LOG(LogStyleMM, Log, TEXT("%s: %s, seed %d: %d vertices, %d triangles"), *GetPathName(), *Path, Seed,
		Layout.Vertices, static_cast<int32>(Layout.Triangles.size() / 3));
	return true;
}

bool UStyleMMComponent::MakeCharacter()
{
	BuiltSeed = Seed;  // also on failure, so that a bad seed is not retried every tick
	const StyleMM::Result Made = Rig->CreateCharacterFromSeed(static_cast<uint64>(FMath::Max(Seed, 0)));  // seeds are uint64 (smm_sample_normal)
	if (!Made.Ok())
	{
		return Fail(FString::Printf(TEXT("character of seed %d: %s"), Seed, *StyleMMComponentDetail::ToFString(Made.Message)));
	}
	return true;
}

void UStyleMMComponent::SetCurve(FName Curve, float Value)
{
	Curves.Add(Curve, Value);
}

void UStyleMMComponent::ResetCurves()
{
	for (TPair<FName, float>& Curve : Curves)
	{
		Curve.Value = 0.0f;
	}
}

TArray<FName> UStyleMMComponent::GetExpressionNames() const
{
	TArray<FName> Names;
	if (Rig.IsValid())
	{
		for (const std::string& Name : Rig->ExpressionNames())
		{
			Names.Add(FName(UTF8_TO_TCHAR(Name.c_str())));
		}
	}
	return Names;
}

int32 UStyleMMComponent::ExpressionIndex(FName Curve)
{
	if (const int32* Known = CurveIndices.Find(Curve))
	{
		return *Known;
	}
	// First sight of this curve name: look it up once (FName compares ignoring case, as the
	// rig's CurveMap does, so "JawOpen" and "jawOpen" share this cache entry).
	const FTCHARToUTF8 Name(*Curve.ToString());
	const int32 Index = Rig->FindExpression(std::string_view(Name.Get(), static_cast<size_t>(Name.Length())));
	CurveIndices.Add(Curve, Index);
	return Index;
}

void UStyleMMComponent::SetJointRotation(int32 Joint, const FRotator& Rotation)
{
	if (Joint == INDEX_NONE)
	{
		return;
	}
	// The rotation as a matrix acting on column vectors, in Unreal axes: column c is where the
	// rotation sends axis c. The rig turns it into a glTF-axes axis-angle (R_gltf = M^T R M).
	const FQuat Q = Rotation.Quaternion();
	const FVector X = Q.GetAxisX(), Y = Q.GetAxisY(), Z = Q.GetAxisZ();
	const float R[9] = {
		static_cast<float>(X.X), static_cast<float>(Y.X), static_cast<float>(Z.X),
		static_cast<float>(X.Y), static_cast<float>(Y.Y), static_cast<float>(Z.Y),
		static_cast<float>(X.Z), static_cast<float>(Y.Z), static_cast<float>(Z.Z),
	};
	StyleMM::GltfAxisAngleFromUnrealRotation(&Pose[3 * Joint], R);
}

bool UStyleMMComponent::EvaluateFrame()
{
	FMemory::Memzero(Weights.GetData(), Weights.Num() * sizeof(float));
	for (const TPair<FName, float>& Curve : Curves)
	{
		const int32 Index = ExpressionIndex(Curve.Key);
		if (Index != INDEX_NONE)
		{
			Weights[Index] = Curve.Value;
		}
	}
	FMemory::Memzero(Pose.GetData(), Pose.Num() * sizeof(float));
	SetJointRotation(HeadJointIndex, HeadRotation);
	SetJointRotation(NeckJointIndex, NeckRotation);
	SetJointRotation(JawJointIndex, JawRotation);
	SetJointRotation(LeftEyeJointIndex, LeftEyeRotation);
	SetJointRotation(RightEyeJointIndex, RightEyeRotation);

	const StyleMM::Result Frame = Rig->Evaluate(Weights.GetData(), Weights.Num(), Pose.GetData(), Pose.Num(),
		RenderPositions.GetData(), RenderNormals.GetData(), RenderPositions.Num());
	if (!Frame.Ok())
	{
		// E.g. a NaN curve value: keep the last good frame, and say so once, not every tick.
		if (!bFrameErrorLogged)
		{
			bFrameErrorLogged = true;
			Fail(StyleMMComponentDetail::ToFString(Frame.Message));
		}
		return false;
	}
	bFrameErrorLogged = false;

	// glTF axes in metres -> Unreal axes in centimetres: UE = 100 * (z, -x, y) (StyleMMRig.h).
	for (int32 I = 0; I < Vertices.Num(); ++I)
	{
		float P[3], N[3];
		StyleMM::UnrealFromGltfPosition(P, &RenderPositions[3 * I]);
		StyleMM::UnrealFromGltfDirection(N, &RenderNormals[3 * I]);
		Vertices[I] = FVector(P[0], P[1], P[2]);
		Normals[I] = FVector(N[0], N[1], N[2]);
	}
	return true;
}

void UStyleMMComponent::TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction)
{
	Super::TickComponent(DeltaTime, TickType, ThisTickFunction);
	if (!Rig.IsValid())
	{
		return;
	}
	if (Seed != BuiltSeed && !MakeCharacter())
	{
		return;
	}
	if (!Rig->HasCharacter() || !EvaluateFrame())
	{
		return;
	}
	// Positions and normals only: UVs, colours and tangents passed empty are left as they are.
	static const TArray<FVector2D> NoUVs;
	static const TArray<FColor> NoColors;
	static const TArray<FProcMeshTangent> NoTangents;
	UpdateMeshSection(0, Vertices, Normals, NoUVs, NoColors, NoTangents);
}
